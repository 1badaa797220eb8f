// Temporary directories under os.tmpdir() (mkdtemp(3)), removed by the
// caller in after() and at exit too, in case a test failed before it could.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const tempDirs = new Set<string>();

/** A directory from mkdtemp under os.tmpdir() that the caller removes with removeTempDir. */
export function tempDir(prefix = 'tcpcensus-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

process.on('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
