/**
 * File-system look-ups written once and run two ways: blocking, for the Sync
 * API, or on libuv's thread pool, so the async API never blocks the event loop.
 * A check is a generator that yields the look-ups it needs (stat, statfs,
 * readlink, readFile) and gets each outcome back; runSync and runAsync drive it.
 * A failed look-up is an outcome too (the check decides what it means), so
 * only the check itself throws.
 */
import * as fs from 'node:fs';
import { getSystemErrorMap } from 'node:util';

/** One look-up a check asks for. */
export type Step =
  | { op: 'stat'; path: string }
  | { op: 'statBig'; path: string }
  | { op: 'statfs'; path: string }
  | { op: 'readlink'; path: string }
  | { op: 'realpath'; path: string }
  | { op: 'readFile'; path: string };

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: NodeJS.ErrnoException };
export type AnyOutcome = Outcome<fs.Stats | fs.BigIntStats | fs.StatsFs | string>;

/** A check: yields look-ups, returns T. */
export type Check<T> = Generator<Step, T, AnyOutcome>;

// Each helper knows the type its step gives back; the one cast per helper
// is the price of a single generator type for every step.
export function* stat(path: string): Generator<Step, Outcome<fs.Stats>, AnyOutcome> {
  return (yield { op: 'stat', path }) as Outcome<fs.Stats>;
}
/** stat with 64-bit fields (a cgroup id is a u64 inode number). */
export function* statBig(path: string): Generator<Step, Outcome<fs.BigIntStats>, AnyOutcome> {
  return (yield { op: 'statBig', path }) as Outcome<fs.BigIntStats>;
}
export function* statfs(path: string): Generator<Step, Outcome<fs.StatsFs>, AnyOutcome> {
  return (yield { op: 'statfs', path }) as Outcome<fs.StatsFs>;
}
export function* readlink(path: string): Generator<Step, Outcome<string>, AnyOutcome> {
  return (yield { op: 'readlink', path }) as Outcome<string>;
}
export function* realpath(path: string): Generator<Step, Outcome<string>, AnyOutcome> {
  return (yield { op: 'realpath', path }) as Outcome<string>;
}
/** A small text file, whole (/proc/mounts). */
export function* readFile(path: string): Generator<Step, Outcome<string>, AnyOutcome> {
  return (yield { op: 'readFile', path }) as Outcome<string>;
}

/** One look-up, blocking. */
export function lookupSync(s: Step): AnyOutcome {
  try {
    switch (s.op) {
      case 'stat': return { ok: true, value: fs.statSync(s.path) };
      case 'statBig': return { ok: true, value: fs.statSync(s.path, { bigint: true }) };
      case 'statfs': return { ok: true, value: fs.statfsSync(s.path) };
      case 'readlink': return { ok: true, value: fs.readlinkSync(s.path) };
      case 'realpath': return { ok: true, value: fs.realpathSync(s.path) };
      case 'readFile': return { ok: true, value: fs.readFileSync(s.path, 'utf8') };
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
export async function lookupAsync(s: Step): Promise<AnyOutcome> {
  try {
    switch (s.op) {
      case 'stat': return { ok: true, value: await pool<fs.Stats>((d) => fs.stat(s.path, d)) };
      case 'statBig': return { ok: true, value: await pool<fs.BigIntStats>((d) => fs.stat(s.path, { bigint: true }, d)) };
      case 'statfs': return { ok: true, value: await pool<fs.StatsFs>((d) => fs.statfs(s.path, d)) };
      case 'readlink': return { ok: true, value: await pool<string>((d) => fs.readlink(s.path, d)) };
      case 'realpath': return { ok: true, value: await pool<string>((d) => fs.realpath(s.path, d)) };
      case 'readFile': return { ok: true, value: await pool<string>((d) => fs.readFile(s.path, 'utf8', d)) };
    }
  } catch (error) {
    return { ok: false, error: error as NodeJS.ErrnoException };
  }
}

export function runSync<T>(check: Check<T>): T {
  let next = check.next();
  while (!next.done) next = check.next(lookupSync(next.value));
  return next.value;
}

export async function runAsync<T>(check: Check<T>): Promise<T> {
  let next = check.next();
  while (!next.done) next = check.next(await lookupAsync(next.value));
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
