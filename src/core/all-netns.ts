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
import { call, runAsync, runSync, stat, type Check } from './lookup';
import type { RawDumpInfo, RawNetns } from './raw';
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

// A dump that answered from another namespace than the one listed: a pid
// reused by a process elsewhere, or a name deleted and made again.
function answeredElsewhere(n: RawNetns, result: Pick<RawDumpInfo, 'netnsInode'>): SkippedNetns | null {
  if (result.netnsInode === n.inode) return null;
  const now = n.path.startsWith('/proc/') ? 'its pid now runs in another namespace' : 'its name now names another namespace';
  return { netns: netnsLabel(n), reason: `gone during the run (${now})` };
}

type One<R> = { result: R } | { skipped: SkippedNetns };
type Tried<R> = { ok: true; value: R } | { ok: false; error: unknown };
/** A runner call's steps in one namespace's request (runner.countSteps, runner.sampleSteps). */
type Run<R> = (r: Request) => Check<R>;

// One namespace of the listing: its dump through its file, and when that
// fails because the namespace went away, through its process's file if it
// has one; skipped, with why, when neither answers from that namespace.
function* oneNetns<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns, run: Run<R>): Check<One<R>> {
  const attempt = function* (r: Request): Check<Tried<R>> {
    try {
      return { ok: true, value: yield* run(r) };
    } catch (error) {
      return { ok: false, error };
    }
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

/** Runs `run` (a runner call's steps) in every namespace. */
export function* allNetns<R extends RawDumpInfo>(req: Request, run: Run<R>): Check<PerNetns<R>> {
  const list = yield* runner.listNetnsSteps(req);
  const out: PerNetns<R> = { namespaces: [], skipped: [], unreadableProcesses: list.unreadable };
  for (const n of list.namespaces) {
    const start = process.hrtime.bigint();
    const one = yield* oneNetns(req, n, run);
    if ('skipped' in one) out.skipped.push(one.skipped);
    else out.namespaces.push({ netns: netnsLabel(n), result: one.result, tookMs: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 });
  }
  return out;
}

// A caller's own run has one form; the driver of the other form never asks for it.
const awaited =
  <R>(run: (r: Request) => Promise<R>): Run<R> =>
  (r) =>
    call(
      {
        sync: () => {
          throw new TypeError('an awaited run driven blocking');
        },
        async: run,
      },
      r,
    );
const blocking =
  <R>(run: (r: Request) => R): Run<R> =>
  (r) =>
    call(
      {
        sync: run,
        async: () => {
          throw new TypeError('a blocking run driven awaited');
        },
      },
      r,
    );

/**
 * `run` (a function of the caller's) in one namespace of the listing, as
 * allNetns runs it: its result, or why it was skipped. For a caller that
 * goes through the namespaces itself (snapshotStream, whose run reads a
 * first batch).
 */
export function inOneNetns<R extends Pick<RawDumpInfo, 'netnsInode'>>(req: Request, n: RawNetns, run: (r: Request) => Promise<R>): Promise<One<R>> {
  return runAsync(oneNetns(req, n, awaited(run)));
}

/** allNetns with a run of the caller's, awaited or blocking. */
export const eachNetns = <R extends RawDumpInfo>(req: Request, run: (r: Request) => Promise<R>): Promise<PerNetns<R>> =>
  runAsync(allNetns(req, awaited(run)));
export const eachNetnsSync = <R extends RawDumpInfo>(req: Request, run: (r: Request) => R): PerNetns<R> => runSync(allNetns(req, blocking(run)));
