// Starts the built CLI's `tcpcensus serve` for the serve tests and waits for
// its "serving metrics on URL" line.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { CLI } from './paths';

export interface TermResult {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Serve {
  url: string;
  port: number;
  child: ReturnType<typeof spawn>;
  stderr(): string;
  /** SIGTERM; resolves {ms, code, signal}; SIGKILL after 10 s. */
  term(): Promise<TermResult>;
  /** SIGTERM; resolves the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `tcpcensus serve --listen LISTEN ARGS` (under prefix, e.g. setpriv, when
 * given); resolves with {url, port, child, stderr(), term(), stop()}.
 */
export function startServe(args: string[] = [], { prefix, listen = '127.0.0.1:0' }: { prefix?: string[]; listen?: string } = {}): Promise<Serve> {
  return new Promise((resolve, reject) => {
    const argv = [CLI, 'serve', '--listen', listen, ...args];
    const child = prefix
      ? spawn(prefix[0]!, [...prefix.slice(1), process.execPath, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 15000);
    function term(): Promise<TermResult> {
      return new Promise((r) => {
        const t0 = Date.now();
        if (child.exitCode !== null) return r({ ms: 0, code: child.exitCode, signal: null });
        const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', (code, signal) => {
          clearTimeout(kill);
          r({ ms: Date.now() - t0, code, signal });
        });
        child.kill('SIGTERM');
      });
    }
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      err += `${line}\n`;
      const m = /^tcpcensus: serving metrics on (http:\/\/[^ ]+)\/metrics$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          port: Number(new URL(m[1]!).port),
          child,
          stderr: () => err,
          term,
          stop: () => term().then((r) => r.code),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${err}`));
    });
  });
}
