/**
 * allNetns: one checked request run in every network namespace the caller
 * can see, one after the other (each dump on a thread of its own that
 * joins the namespace; the caller's threads never change namespace). The
 * caller's own namespace is dumped as usual (no setns, so no privilege
 * needed); entering the others needs CAP_SYS_ADMIN, and a refusal is the
 * call's error, never a namespace quietly left out. A namespace gone
 * between the listing and its dump (its last process exited: open ENOENT,
 * or its pid reused by a process elsewhere) is skipped and counted.
 */
import { SystemError } from './errors';
import type { RawDumpInfo, RawNetns, RawNetnsList } from './native';
import type { Request } from './options';
import * as runner from './runner';
import type { NetnsLabel } from './types';

export interface PerNetns<R> {
  /** tookMs: that namespace's dump (and walk). */
  namespaces: Array<{ netns: NetnsLabel; result: R; tookMs: number }>;
  skipped: number;
  unreadableProcesses: number;
}

export function netnsLabel(n: RawNetns): NetnsLabel {
  return { inode: n.inode, name: n.name === '' ? null : n.name, path: n.path, pid: n.pid === 0 ? null : n.pid, self: n.self };
}

/** The request for one namespace: the caller's own as is, another entered through its file. */
function inNamespace(req: Request, n: RawNetns): Request {
  const raw = { ...req.raw };
  if (n.self) delete raw.netns;
  else raw.netns = n.path;
  return { ...req, raw, allNetns: false };
}

const vanished = (n: RawNetns, e: unknown) => e instanceof SystemError && e.code === 'ENOENT' && e.syscall === 'open' && e.path === n.path;

function collect<R>(list: RawNetnsList): PerNetns<R> {
  return { namespaces: [], skipped: 0, unreadableProcesses: list.unreadable };
}

function keep<R extends RawDumpInfo>(out: PerNetns<R>, n: RawNetns, result: R, start: bigint): void {
  // A pid reused by a process in another namespace opens that one instead.
  if (result.netnsInode !== n.inode) out.skipped++;
  else out.namespaces.push({ netns: netnsLabel(n), result, tookMs: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 });
}

/** Runs `run` (a runner call) in every namespace. */
export async function eachNetns<R extends RawDumpInfo>(req: Request, run: (r: Request) => Promise<R>): Promise<PerNetns<R>> {
  const list = await runner.listNetns(req);
  const out = collect<R>(list);
  for (const n of list.namespaces) {
    let result: R;
    const start = process.hrtime.bigint();
    try {
      result = await run(inNamespace(req, n));
    } catch (e) {
      if (!vanished(n, e)) throw e;
      out.skipped++;
      continue;
    }
    keep(out, n, result, start);
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
      if (!vanished(n, e)) throw e;
      out.skipped++;
      continue;
    }
    keep(out, n, result, start);
  }
  return out;
}
