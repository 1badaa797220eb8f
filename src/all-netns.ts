/**
 * allNetns: one checked request run in every network namespace the caller
 * can see, one after the other (each dump on a thread of its own that
 * joins the namespace; the caller's threads never change namespace). The
 * caller's own namespace is dumped as usual (no setns, so no privilege
 * needed); entering the others needs CAP_SYS_ADMIN, and a refusal is the
 * call's error, never a namespace quietly left out. A namespace gone
 * between the listing and its dump (its last process exited or `ip netns
 * del` removed it: open ENOENT, setns EINVAL on the unmounted file; or its
 * pid reused by a process elsewhere) is skipped, counted and said why.
 * Man pages: setns(2), ip-netns(8), stat(2).
 */
import { SystemError } from './errors';
import { runAsync, runSync, stat, type Check } from './lookup';
import type { RawDumpInfo, RawNetns, RawNetnsList } from './native';
import type { Request } from './options';
import * as runner from './runner';
import type { NetnsLabel, SkippedNetns } from './types';

export interface PerNetns<R> {
  /** tookMs: that namespace's dump (and walk). */
  namespaces: Array<{ netns: NetnsLabel; result: R; tookMs: number }>;
  skipped: SkippedNetns[];
  unreadableProcesses: number;
}

export function netnsLabel(n: RawNetns): NetnsLabel {
  return { inode: n.inode, name: n.name === '' ? null : n.name, path: n.path, pid: n.pid === 0 ? null : n.pid, self: n.self };
}

/** The request for one namespace: the caller's own as is, another entered through its file. */
function inNamespace(req: Request, n: RawNetns, path = n.path): Request {
  const raw = { ...req.raw };
  if (n.self) delete raw.netns;
  else raw.netns = path;
  return { ...req, raw, allNetns: false };
}

// A named namespace whose name was deleted (`ip netns del`) lives on while a
// process is in it: that process's file still enters it (keep() checks it is
// the same namespace).
const throughPid = (n: RawNetns) => (n.pid !== 0 && n.path !== `/proc/${n.pid}/ns/net` ? `/proc/${n.pid}/ns/net` : null);

// Why a namespace's dump failed because the namespace went away, or null for
// a real failure (the call's error). Gone means: the failure is about its
// file (open ENOENT: its last process exited or `ip netns del` removed it;
// setns EINVAL: the file was unmounted and no longer is a namespace, as
// `ip netns del` does first), and that file no longer names that namespace.
function* whyGone(n: RawNetns, e: unknown): Check<string | null> {
  if (!(e instanceof SystemError) || e.path !== n.path) return null;
  const how = `${e.syscall} ${e.code}`;
  if (how !== 'open ENOENT' && how !== 'open ESRCH' && how !== 'setns EINVAL') return null;
  const now = yield* stat(n.path);
  if (now.ok && now.value.ino === n.inode) return null;
  return `gone during the run (${how}${now.ok ? ': the file no longer is that namespace' : ''})`;
}

function collect<R>(list: RawNetnsList): PerNetns<R> {
  return { namespaces: [], skipped: [], unreadableProcesses: list.unreadable };
}

function keep<R extends Pick<RawDumpInfo, 'netnsInode'>>(out: PerNetns<R>, n: RawNetns, result: R, start: bigint): void {
  // A pid reused by a process in another namespace, or a name deleted and
  // made again, opens another namespace instead.
  if (result.netnsInode !== n.inode) {
    const now = n.path.startsWith('/proc/') ? 'its pid now runs in another namespace' : 'its name now names another namespace';
    out.skipped.push({ netns: netnsLabel(n), reason: `gone during the run (${now})` });
  }
  else out.namespaces.push({ netns: netnsLabel(n), result, tookMs: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 });
}

/**
 * `run` (a runner call) in one namespace of the listing, as eachNetns runs
 * it: its result, or why it was skipped. For a caller that goes through the
 * namespaces itself (snapshotStream, whose run reads a first batch).
 */
export async function inOneNetns<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns, run: (r: Request) => Promise<R>):
  Promise<{ result: R } | { skipped: SkippedNetns }> {
  let result: R;
  try {
    result = await run(inNamespace(req, n));
  } catch (e) {
    const reason = await runAsync(whyGone(n, e));
    if (reason === null) throw e;
    const again = throughPid(n);
    try {
      if (again === null) throw e;
      result = await run(inNamespace(req, n, again));
    } catch {
      return { skipped: { netns: netnsLabel(n), reason } };
    }
  }
  const probe: PerNetns<R> = { namespaces: [], skipped: [], unreadableProcesses: 0 };
  keep(probe, n, result, 0n);
  return probe.skipped[0] ? { skipped: probe.skipped[0] } : { result };
}

/** Runs `run` (a runner call) in every namespace. */
export async function eachNetns<R extends RawDumpInfo>(req: Request, run: (r: Request) => Promise<R>): Promise<PerNetns<R>> {
  const list = await runner.listNetns(req);
  const out = collect<R>(list);
  for (const n of list.namespaces) {
    const start = process.hrtime.bigint();
    const one = await inOneNetns(req, n, run);
    if ('skipped' in one) out.skipped.push(one.skipped);
    else keep(out, n, one.result, start);
  }
  return out;
}

export function eachNetnsSync<R extends RawDumpInfo>(req: Request, run: (r: Request) => R): PerNetns<R> {
  const list = runner.listNetnsSync(req);
  const out = collect<R>(list);
  for (const n of list.namespaces) {
    let result: R;
    const start = process.hrtime.bigint();
    try {
      result = run(inNamespace(req, n));
    } catch (e) {
      const reason = runSync(whyGone(n, e));
      if (reason === null) throw e;
      const again = throughPid(n);
      try {
        if (again === null) throw e;
        result = run(inNamespace(req, n, again));
      } catch {
        out.skipped.push({ netns: netnsLabel(n), reason });
        continue;
      }
    }
    keep(out, n, result, start);
  }
  return out;
}
