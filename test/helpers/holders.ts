// Processes that hold sockets of known kinds and counts: holder.js (CLOSE_WAIT
// and TIME_WAIT), a forked sharer, a half-closing server and its CLOSE_WAIT
// clients, a leaderless process (see tcp(7), the fixtures' own comments).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { buildFixture, startFixture, type Fixture } from './fixture';
import { FIXTURES, HOLDER, PYTHON } from './paths';

/**
 * test/fixtures/leaderless.c: a process whose main thread has exited while
 * `threads` threads run on; resolves once its /proc/<pid>/fd reads empty.
 */
export async function startLeaderless(threads: number): Promise<Fixture> {
  const fx = await startFixture(buildFixture('leaderless'), [String(threads)]);
  const { pid } = fx.info;
  for (let i = 0; i < 200 && fs.readdirSync(`/proc/${pid}/fd`).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  if (fs.readdirSync(`/proc/${pid}/fd`).length > 0) throw new Error(`leaderless ${pid}: the main thread did not exit`);
  if (fs.readdirSync(`/proc/${pid}/task`).length < threads) throw new Error(`leaderless ${pid}: fewer than ${threads} threads`);
  return fx;
}

/** A python3 -c script as a fixture: it prints one JSON line, then holds until stdin closes. */
export function startStatesLike(code: string): Promise<Fixture> {
  return startFixture(PYTHON, ['-c', code]);
}

/**
 * One listening socket held by two processes: a python parent and the child
 * it forks (the child inherits the fd). info: {pid, child, port, inode}.
 */
export function startSharer(): Promise<Fixture> {
  return startStatesLike(
    'import os,socket,sys,json\n' +
      's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()\n' +
      'pid=os.fork()\n' +
      'if pid==0:\n  sys.stdin.read(); os._exit(0)\n' +
      'print(json.dumps({"pid":os.getpid(),"child":pid,"port":s.getsockname()[1],"inode":os.fstat(s.fileno()).st_ino}),flush=True)\n' +
      'sys.stdin.read(); os.kill(pid,9)\n',
  );
}

/** A node child holding closeWait CLOSE_WAIT and timeWait TIME_WAIT sockets (see harness/holder-child.js). */
export function startHolder(
  title: string,
  closeWait: number,
  timeWait = 0,
  host = '4',
  { clientHost, prefix }: { clientHost?: string; prefix?: string[] } = {},
): Promise<Fixture> {
  const args = [HOLDER, title, String(closeWait), String(timeWait), host];
  if (clientHost) args.push(clientHost);
  // prefix: a command to run node under, e.g. setpriv to another user.
  return prefix ? startFixture(prefix[0]!, [...prefix.slice(1), process.execPath, ...args]) : startFixture(process.execPath, args);
}

export interface HalfCloser {
  port: number;
  close(): Promise<void>;
}

/**
 * A server on host that shuts down its side of every connection at once and
 * keeps it open: the clients' ends go to CLOSE_WAIT (theirs), ours to
 * FIN_WAIT2. Resolves with {port, close()}.
 */
export function startHalfCloser(host: string): Promise<HalfCloser> {
  const held = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
    s.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of held) s.resetAndDestroy();
            server.close(() => r());
          }),
      }),
    );
  });
}

export interface CwClient extends Fixture {
  /** k of the sockets replaced by new ones, resolved once they are in CLOSE_WAIT. */
  replace(k: number): Promise<void>;
}

/**
 * fixtures/cw_client.js: a process named `title` with n client sockets in
 * CLOSE_WAIT towards host:port (a startHalfCloser server). The fixture gets
 * replace(k): k of them replaced by new ones, resolved once they are in
 * CLOSE_WAIT.
 */
export async function startCwClient(title: string, host: string, port: number, n: number): Promise<CwClient> {
  const fx = await startFixture(process.execPath, [path.join(FIXTURES, 'cw_client.js'), title, host, String(port), String(n)]);
  const lines: string[] = [];
  let waiting: (() => void) | null = null;
  readline.createInterface({ input: fx.child.stdout }).on('line', (line) => {
    lines.push(line);
    if (waiting) {
      const w = waiting;
      waiting = null;
      w();
    }
  });
  const replace = async (k: number): Promise<void> => {
    fx.child.stdin.write(`replace ${k}\n`);
    while (!lines.some((l) => l.includes('"replaced"')))
      await new Promise<void>((r) => {
        waiting = r;
      });
    lines.length = 0;
  };
  return Object.assign(fx, { replace });
}
