/**
 * Work written once and run two ways: blocking, for the Sync API, or on
 * libuv's thread pool, so the async API never blocks the event loop. A check
 * is a generator that yields the steps it needs and gets each answer back;
 * runSync and runAsync drive it. A step is a file-system look-up (stat,
 * statfs, readlink, readFile), a call of work that has both forms (a Twin:
 * the addon's calls, through runner.ts), or several checks at once (all).
 * A failed look-up is an outcome (the check decides what it means); a failed
 * call is thrown at the check's yield, as an awaited call would throw.
 */
import * as fs from 'node:fs';
import { getSystemErrorMap } from 'node:util';

/** A file-system look-up a check asks for. */
export type Lookup =
  | { op: 'stat'; path: string }
  | { op: 'statBig'; path: string }
  | { op: 'statfs'; path: string }
  | { op: 'readlink'; path: string }
  | { op: 'realpath'; path: string }
  | { op: 'readFile'; path: string };

/** One step a check asks for. */
export type Step =
  | Lookup
  /** Work with both forms; the driver runs the one it is (see call). */
  | { op: 'call'; sync: () => unknown; async: () => Promise<unknown> }
  /** Several checks at once (see all). */
  | { op: 'all'; checks: Array<Check<unknown>> };

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: NodeJS.ErrnoException };
export type AnyOutcome = Outcome<fs.Stats | fs.BigIntStats | fs.StatsFs | string>;

/** A check: yields steps, returns T. */
export type Check<T> = Generator<Step, T, unknown>;

/**
 * Work that has a blocking form and a form off the event loop (the addon's
 * calls come in such pairs: count and countSync, ...): one Twin, so a check
 * names it once and each driver picks its form.
 */
export interface Twin<A, R> {
  sync(arg: A): R;
  async(arg: A): Promise<R>;
}

// Each helper knows the type its step gives back; the one cast per helper
// is the price of a single generator type for every step.
export function* stat(path: string): Check<Outcome<fs.Stats>> {
  return (yield { op: 'stat', path }) as Outcome<fs.Stats>;
}
/** stat with 64-bit fields (a cgroup id is a u64 inode number). */
export function* statBig(path: string): Check<Outcome<fs.BigIntStats>> {
  return (yield { op: 'statBig', path }) as Outcome<fs.BigIntStats>;
}
export function* statfs(path: string): Check<Outcome<fs.StatsFs>> {
  return (yield { op: 'statfs', path }) as Outcome<fs.StatsFs>;
}
export function* readlink(path: string): Check<Outcome<string>> {
  return (yield { op: 'readlink', path }) as Outcome<string>;
}
export function* realpath(path: string): Check<Outcome<string>> {
  return (yield { op: 'realpath', path }) as Outcome<string>;
}
/** A small text file, whole (/proc/mounts, /etc/passwd). */
export function* readFile(path: string): Check<Outcome<string>> {
  return (yield { op: 'readFile', path }) as Outcome<string>;
}

/** twin(arg) in the driver's form: its value, or its error thrown here. */
export function* call<A, R>(twin: Twin<A, R>, arg: A): Check<R> {
  return (yield { op: 'call', sync: () => twin.sync(arg), async: () => twin.async(arg) }) as R;
}

/**
 * Several checks' values, in order: run at once by runAsync (each step of
 * one may overlap another's), one after the other by runSync. The first
 * failure is thrown here.
 */
export function* all<T extends unknown[]>(...checks: { [K in keyof T]: Check<T[K]> }): Check<T> {
  return (yield { op: 'all', checks }) as T;
}

/** One look-up, blocking. */
export function lookupSync(s: Lookup): AnyOutcome {
  try {
    switch (s.op) {
      case 'stat':
        return { ok: true, value: fs.statSync(s.path) };
      case 'statBig':
        return { ok: true, value: fs.statSync(s.path, { bigint: true }) };
      case 'statfs':
        return { ok: true, value: fs.statfsSync(s.path) };
      case 'readlink':
        return { ok: true, value: fs.readlinkSync(s.path) };
      case 'realpath':
        return { ok: true, value: fs.realpathSync(s.path) };
      case 'readFile':
        return { ok: true, value: fs.readFileSync(s.path, 'utf8') };
    }
  } catch (error) {
    return { ok: false, error: error as NodeJS.ErrnoException };
  }
}

// The callback forms, not fs.promises: the same work on libuv's pool, without
// loading node:fs/promises (about 2 ms of every command's start-up).
const pool = <T>(start: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));

/** One look-up, on libuv's pool. */
export async function lookupAsync(s: Lookup): Promise<AnyOutcome> {
  try {
    switch (s.op) {
      case 'stat':
        return { ok: true, value: await pool<fs.Stats>((d) => fs.stat(s.path, d)) };
      case 'statBig':
        return { ok: true, value: await pool<fs.BigIntStats>((d) => fs.stat(s.path, { bigint: true }, d)) };
      case 'statfs':
        return { ok: true, value: await pool<fs.StatsFs>((d) => fs.statfs(s.path, d)) };
      case 'readlink':
        return { ok: true, value: await pool<string>((d) => fs.readlink(s.path, d)) };
      case 'realpath':
        return { ok: true, value: await pool<string>((d) => fs.realpath(s.path, d)) };
      case 'readFile':
        return { ok: true, value: await pool<string>((d) => fs.readFile(s.path, 'utf8', d)) };
    }
  } catch (error) {
    return { ok: false, error: error as NodeJS.ErrnoException };
  }
}

/** Runs a check on this thread: every step blocks. */
export function runSync<T>(check: Check<T>): T {
  let next = check.next();
  while (!next.done) {
    const s = next.value;
    if (s.op !== 'call' && s.op !== 'all') {
      next = check.next(lookupSync(s));
      continue;
    }
    let value: unknown;
    try {
      value = s.op === 'call' ? s.sync() : s.checks.map((c) => runSync(c));
    } catch (error) {
      next = check.throw(error);
      continue;
    }
    next = check.next(value);
  }
  return next.value;
}

/** Runs a check with every step off the event loop (libuv's pool, the addon's workers). */
export async function runAsync<T>(check: Check<T>): Promise<T> {
  let next = check.next();
  while (!next.done) {
    const s = next.value;
    if (s.op !== 'call' && s.op !== 'all') {
      next = check.next(await lookupAsync(s));
      continue;
    }
    let value: unknown;
    try {
      value = await (s.op === 'call' ? s.async() : Promise.all(s.checks.map((c) => runAsync(c))));
    } catch (error) {
      next = check.throw(error);
      continue;
    }
    next = check.next(value);
  }
  return next.value;
}

/** An errno's name and its message as strerror(3) writes it ("Permission denied"). */
export function errnoText(errno: number): { code: string; message: string } {
  const entry = getSystemErrorMap().get(-Math.abs(errno));
  if (!entry) return { code: 'EUNKNOWN', message: `Unknown error ${errno}` };
  return { code: entry[0], message: entry[1].charAt(0).toUpperCase() + entry[1].slice(1) };
}

/** The errno number of a failed look-up (Node gives it negative). */
export function errnoOf(e: NodeJS.ErrnoException): number {
  return Math.abs(e.errno ?? 0);
}
