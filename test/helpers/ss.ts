// `ss` (ss(8), from iproute2) as the oracle: what the kernel says over the
// same sock_diag interface, parsed into rows and counts by state.
import { execFileSync } from 'node:child_process';

export const SS_STATES: Record<string, string> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  UNCONN: 'CLOSE',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

export interface SsUser {
  command: string;
  pid: number;
  fd: number;
}

export interface SsRow {
  /** Our state name; null when ss left the column out (a single-state filter). */
  state: string | null;
  localHost: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
  recvQ: number;
  sendQ: number;
  uid: number;
  inode: number;
  users: SsUser[];
}

// "127.0.0.1:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "*:80", "0.0.0.0:*"
function splitEndpoint(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  const port = s.slice(i + 1) === '*' ? 0 : Number(s.slice(i + 1));
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port };
}

/**
 * Runs `ss -tanH <extra...>` with -e and -p and returns one object per socket:
 * {state, localHost, localPort, remoteHost, remotePort, recvQ,
 *  sendQ, uid, inode, users: [{command, pid, fd}]}.
 * Wildcard addresses ("*" and "[::]") are left as ss prints them in `host`;
 * callers compare with sameHost().
 */
export function ss(extra: string[] = []): SsRow[] {
  const out = execFileSync('ss', ['-tanHep', ...extra], { maxBuffer: 1 << 30 }).toString();
  const rows: SsRow[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const f: Array<string | null> = line.trim().split(/\s+/);
    // With a single-state filter ss leaves out the State column.
    if (/^\d+$/.test(f[0]!)) f.unshift(null);
    const local = splitEndpoint(f[3]!);
    const peer = splitEndpoint(f[4]!);
    const rest = f.slice(5).join(' ');
    const users = [...rest.matchAll(/\("([^"]*)",pid=(\d+),fd=(\d+)\)/g)].map((m) => ({ command: m[1]!, pid: Number(m[2]), fd: Number(m[3]) }));
    const uid = /\buid:(\d+)/.exec(rest);
    const ino = /\bino:(\d+)/.exec(rest);
    rows.push({
      state: f[0] === null ? null : (SS_STATES[f[0]!] ?? f[0]!),
      localHost: local.host,
      localPort: local.port,
      remoteHost: peer.host,
      remotePort: peer.port,
      recvQ: Number(f[1]),
      sendQ: Number(f[2]),
      uid: uid ? Number(uid[1]) : 0,
      inode: ino ? Number(ino[1]) : 0,
      users,
    });
  }
  return rows;
}

/** ss prints wildcards as "*" or "::"/"0.0.0.0"; tcpcensus prints the address. */
export function sameHost(ssHost: string, ours: string, family: string): boolean {
  if (ssHost === '*') return family === 'ipv6' ? ours === '::' : ours === '0.0.0.0';
  return ssHost === ours;
}

/** Counts by state of `ss -tanH <extra>`. */
export function ssCounts(extra: string[] = []): Record<string, number> {
  const out = execFileSync('ss', ['-tanH', ...extra], { maxBuffer: 1 << 30 }).toString();
  const counts: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const s = line.split(/\s+/)[0]!;
    if (/^\d+$/.test(s)) throw new Error('ssCounts needs the State column: give it no single-state filter');
    if (!s) continue;
    const name = SS_STATES[s] ?? s;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/**
 * ss and tcpcensus run one after the other, and sockets can come and go in
 * between (a TIME_WAIT expiring). Runs oracle, ours, oracle again until the
 * oracle held still, then returns both; fails after `tries`.
 */
export async function stable<O, M>(oracle: () => O, ours: () => M | Promise<M>, tries = 10): Promise<{ oracle: O; mine: M }> {
  for (let i = 0; i < tries; i++) {
    const before = oracle();
    const mine = await ours();
    const after = oracle();
    if (JSON.stringify(before) === JSON.stringify(after)) return { oracle: before, mine };
  }
  throw new Error(`the host never held still in ${tries} tries`);
}
