/**
 * cgroup ids to paths and short names, for `by: 'cgroup'`. A socket's
 * cgroup id is the inode of its cgroup's directory on the cgroup2 mount;
 * the addon names the ids a call needs by one walk of that mount
 * (runner.cgroupPathsSteps), and this module keeps what it learnt by id, so a
 * caller sampling again and again walks only for cgroups it has not seen.
 * Ids are never reused (64-bit kernfs ids), so an entry stays true; one the
 * walk did not find belongs to a cgroup removed since the socket was made
 * (sockets outlive their cgroup's directory) and is kept as such.
 */
import { cgroupShortName, type CgroupLabel } from './cgroup-name';

export type { CgroupLabel };
import { runAsync, type Check } from '../core/lookup';
import * as runner from '../core/runner';
import type { RawCgroupPaths } from '../core/raw';

const MAX_ENTRIES = 100_000; // then start over: a bound, not an eviction policy
const cache = new Map<bigint, CgroupLabel>();
const REMOVED: CgroupLabel = { path: null, name: '(removed)' };
const NOT_FOUND: CgroupLabel = { path: null, name: '(not found)' };

function wanted(ids: Iterable<bigint>): BigUint64Array | undefined {
  const out: bigint[] = [];
  for (const id of ids) if (id !== 0n && !cache.has(id)) out.push(id);
  return out.length ? BigUint64Array.from(out) : undefined;
}

function learn(asked: BigUint64Array, r: RawCgroupPaths): void {
  if (cache.size + asked.length > MAX_ENTRIES) cache.clear();
  r.ids.forEach((id, i) => cache.set(id, cgroupShortName(r.paths[i]!)));
  // Not found in a walk that read every directory: removed. A directory it
  // could not read may hold it, so then nothing is concluded.
  if (r.unreadable === 0) for (const id of asked) if (!cache.has(id)) cache.set(id, REMOVED);
}

function answer(ids: Iterable<bigint>): Map<bigint, CgroupLabel> {
  const out = new Map<bigint, CgroupLabel>();
  for (const id of ids) if (id !== 0n) out.set(id, cache.get(id) ?? NOT_FOUND);
  return out;
}

/** Labels for these ids (0, no cgroup, is left out). */
export function* cgroupLabelsSteps(ids: Set<bigint>): Check<Map<bigint, CgroupLabel>> {
  const ask = wanted(ids);
  if (ask) learn(ask, yield* runner.cgroupPathsSteps(ask));
  return answer(ids);
}

export const cgroupLabels = (ids: Set<bigint>): Promise<Map<bigint, CgroupLabel>> => runAsync(cgroupLabelsSteps(ids));

/** The distinct cgroup ids of a table's rows (0 included when present). */
export function cgroupIds(column: BigUint64Array, size: number): Set<bigint> {
  const ids = new Set<bigint>();
  for (let i = 0; i < size; i++) ids.add(column[i]!);
  return ids;
}
