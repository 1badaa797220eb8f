// Starting fixture processes (a first stdout line of JSON says they are
// ready; closing their stdin stops them), building the C ones, and killing
// whatever is left at exit. Real processes; nothing here is mocked.
import { spawn, execFileSync, type ChildProcessWithoutNullStreams, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { FIXTURES } from './paths';
import { tempDir } from './tmp';

/** A fixture's ready line, parsed: each fixture prints a shape of its own (see its file). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FixtureInfo = { readonly [key: string]: any };

export interface Fixture<I = FixtureInfo> {
  child: ChildProcessWithoutNullStreams;
  info: I;
  /** Closes its stdin and resolves once it exited (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

export function killAll(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAll);

// C fixtures are built once per test process into one temp directory
// (tempDir: removed when the process exits).
let buildDir: string | undefined;
/** Compiles test/fixtures/<name>.c (with -lpthread) and returns the binary's path. */
export function buildFixture(name: string): string {
  buildDir ??= tempDir('tcpcensus-fixtures-');
  const bin = path.join(buildDir, name);
  if (!fs.existsSync(bin)) {
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, path.join(FIXTURES, `${name}.c`), '-lpthread']);
  }
  return bin;
}

/** Starts a fixture and resolves with its first stdout line parsed as JSON. */
export function startFixture<I = FixtureInfo>(
  cmd: string,
  args: string[],
  { timeoutMs = 30000, spawnOpts = {} }: { timeoutMs?: number; spawnOpts?: SpawnOptions } = {},
): Promise<Fixture<I>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts }) as ChildProcessWithoutNullStreams;
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: not ready in ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as I;
      resolve({
        child,
        info,
        stop: () =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => {
              children.delete(child);
              res();
            });
            child.stdin.end();
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${stderr}`));
    });
  });
}

/** Stops every fixture given at once, skipping those a failed before() never started. */
export async function stopAll(fixtures: Array<Fixture<unknown> | null | undefined>): Promise<void> {
  await Promise.all(fixtures.filter((x): x is Fixture<unknown> => Boolean(x)).map((x) => x.stop()));
}
