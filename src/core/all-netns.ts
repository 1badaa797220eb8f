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
import { SystemError } from '../errors';
import { lookupAsync, lookupSync, stat, type AnyOutcome, type Check, type Step } from './lookup';
import type { RawDumpInfo, RawNetns, RawNetnsList } from './raw';
import type { Request } from '../request/options';
import * as runner from './runner';
import type { NetnsLabel, SkippedNetns } from '../types';

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
// process is in it: that process's file still enters it (answeredElsewhere checks it is
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

// A dump that answered from another namespace than the one listed: a pid
// reused by a process elsewhere, or a name deleted and made again.
function answeredElsewhere(n: RawNetns, result: Pick<RawDumpInfo, 'netnsInode'>): SkippedNetns | null {
  if (result.netnsInode === n.inode) return null;
  const now = n.path.startsWith('/proc/') ? 'its pid now runs in another namespace' : 'its name now names another namespace';
  return { netns: netnsLabel(n), reason: `gone during the run (${now})` };
}

type One<R> = { result: R } | { skipped: SkippedNetns };
type Tried<R> = { ok: true; value: R } | { ok: false; error: unknown };
const ok = <R>(value: R): Tried<R> => ({ ok: true, value });
const failed = <R>(error: unknown): Tried<R> => ({ ok: false, error });
// A run's outcome goes back through the look-ups' channel (see attempt).
const ran = <R>(t: Tried<R>) => t as unknown as AnyOutcome;
function settled<R>(f: () => R): Tried<R> {
  try {
    return ok(f());
  } catch (error) {
    return failed(error);
  }
}
/** What oneNetns asks for: a dump run in a namespace, or a look-up (lookup.ts). */
type Ask = { run: Request } | Step;

// One namespace of the listing, written once and driven blocking or
// awaited (below): its dump through its file, and when that fails because
// the namespace went away, through its process's file if it has one;
// skipped, with why, when neither answers from that namespace.
function* oneNetns<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns): Generator<Ask, One<R>, AnyOutcome> {
  // The one cast: a run's outcome comes back through the look-ups' channel.
  const attempt = function* (r: Request): Generator<Ask, Tried<R>, AnyOutcome> {
    return (yield { run: r }) as unknown as Tried<R>;
  };
  let tried = yield* attempt(inNamespace(req, n));
  if (!tried.ok) {
    const reason = yield* whyGone(n, tried.error);
    if (reason === null) throw tried.error;
    const again = throughPid(n);
    if (again !== null) tried = yield* attempt(inNamespace(req, n, again));
    if (!tried.ok) return { skipped: { netns: netnsLabel(n), reason } };
  }
  const elsewhere = answeredElsewhere(n, tried.value);
  return elsewhere ? { skipped: elsewhere } : { result: tried.value };
}

/**
 * `run` (a runner call) in one namespace of the listing, as eachNetns runs
 * it: its result, or why it was skipped. For a caller that goes through the
 * namespaces itself (snapshotStream, whose run reads a first batch).
 */
export async function inOneNetns<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns, run: (r: Request) => Promise<R>): Promise<One<R>> {
  const g = oneNetns<R>(req, n);
  let next = g.next();
  while (!next.done) {
    const ask = next.value;
    next = g.next('run' in ask ? ran(await run(ask.run).then(ok, failed)) : await lookupAsync(ask));
  }
  return next.value;
}

function inOneNetnsSync<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns, run: (r: Request) => R): One<R> {
  const g = oneNetns<R>(req, n);
  let next = g.next();
  while (!next.done) {
    const ask = next.value;
    next = g.next('run' in ask ? ran(settled(() => run(ask.run))) : lookupSync(ask));
  }
  return next.value;
}

function keep<R>(out: PerNetns<R>, n: RawNetns, one: One<R>, start: bigint): void {
  if ('skipped' in one) out.skipped.push(one.skipped);
  else out.namespaces.push({ netns: netnsLabel(n), result: one.result, tookMs: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 });
}

/** Runs `run` (a runner call) in every namespace. */
export async function eachNetns<R extends RawDumpInfo>(req: Request, run: (r: Request) => Promise<R>): Promise<PerNetns<R>> {
  const list = await runner.listNetns(req);
  const out = collect<R>(list);
  for (const n of list.namespaces) {
    const start = process.hrtime.bigint();
    keep(out, n, await inOneNetns(req, n, run), start);
  }
  return out;
}

export function eachNetnsSync<R extends RawDumpInfo>(req: Request, run: (r: Request) => R): PerNetns<R> {
  const list = runner.listNetnsSync(req);
  const out = collect<R>(list);
  for (const n of list.namespaces) {
    const start = process.hrtime.bigint();
    keep(out, n, inOneNetnsSync(req, n, run), start);
  }
  return out;
}
