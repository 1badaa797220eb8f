// Where things are: the package root, the built CLI, the fixtures, the
// harness shared with bench/, and the python3 the fixtures run under.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** The package root (package.json, build/, dist/). */
export const ROOT = path.join(__dirname, '..', '..');
/** The built bin (npm test builds it first): CLI tests run it as a user would. */
export const CLI = path.join(ROOT, 'dist', 'cli.js');
/** test/fixtures: processes and programs the tests start. */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** harness/: the socket farm and serve attacks shared by test/ and bench/. */
export const HARNESS = path.join(ROOT, 'harness');
/** The CLOSE_WAIT holder process the tests and the bench share (harness/holder-child.js). */
export const HOLDER = path.join(HARNESS, 'holder-child.js');
export const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
