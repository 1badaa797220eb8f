// Running node children: the built CLI (dist/cli.js, as a user runs it) and
// one library call in a fresh node that requires the built package root
// (dist), under a prefix such as setpriv when given.
import { spawn } from 'node:child_process';
import { CLI, ROOT } from './paths';

export interface RunOptions {
  /** A command to run node under, e.g. setpriv to another user. */
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs node with args, under opts.prefix when given, and resolves with {code, stdout, stderr}. */
export function runNodeArgs(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(
      opts.prefix ? opts.prefix[0]! : process.execPath,
      [...(opts.prefix ? opts.prefix.slice(1).concat([process.execPath]) : []), ...args],
      { env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the built CLI and returns {code, stdout, stderr}. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runNodeArgs([CLI, ...args], opts);
}

export interface LibraryError {
  name: string;
  message: string;
  code?: string;
  syscall?: string;
  errno?: number;
  path?: string;
  pid?: number;
  option?: string;
}

/**
 * What callLibrary's child printed: the value as JSON when ok, else the
 * error's fields (one of the two is there, as ok says; the value's shape is
 * the called function's, read loosely at this parse boundary).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface LibraryResult<V = any> {
  ok: boolean;
  value: V;
  error: LibraryError;
}

/**
 * Calls one library function in a fresh node (as another user with
 * opts.prefix) and resolves with what it gave: {ok: true, value} or
 * {ok: false, error: {name, message, code, syscall, errno, path, pid, option}}.
 * The child requires the package root, the built dist/, as a user would.
 */
export async function callLibrary(fn: string, options: unknown, opts: RunOptions = {}): Promise<LibraryResult> {
  const code = `
    const tc = require(${JSON.stringify(ROOT)});
    const out = (o) => process.stdout.write(JSON.stringify(o));
    const fail = (e) => out({ ok: false, error: { name: e.name, message: e.message, code: e.code, syscall: e.syscall,
      errno: e.errno, path: e.path, pid: e.pid, option: e.option } });
    try {
      Promise.resolve(tc[${JSON.stringify(fn)}](${JSON.stringify(options)})).then((value) => out({ ok: true, value }), fail);
    } catch (e) { fail(e); }`;
  const r = await runNodeArgs(['-e', code], opts);
  if (r.code !== 0) throw new Error(`node -e for ${fn} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as LibraryResult;
}

/**
 * A row (or object) of the CLI's --json output, whose keys docs/json.md
 * lists: read loosely, at this parse boundary, by tests that compare it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonRow = { readonly [key: string]: any };
