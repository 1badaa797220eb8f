/**
 * The state histogram: the addon's per-family counts (indexed by kernel
 * state number) shaped into StateCounts, every requested state present but
 * one the source cannot show (CLOSE from /proc/net/tcp): that one is left
 * out and named in `unknown`, never a zero.
 */
import type { RawCountResult } from '../core/raw';
import { maskNames, stateNumber } from '../request/states';
import type { StateCounts } from '../types';

export function stateCounts(mask: number, raw: RawCountResult, tookMs: () => number): StateCounts {
  const states: StateCounts['states'] = {};
  let ipv4 = 0;
  let ipv6 = 0;
  // Counts show no cgroups, cookies, interfaces or queues: only a state can be unknown here.
  const unknown = raw.missing.filter((m) => m === 'boundInactive');
  for (const name of maskNames(mask)) {
    if (name === 'CLOSE' && unknown.includes('boundInactive')) continue;
    const n = stateNumber(name);
    const v4 = raw.ipv4[n]!;
    const v6 = raw.ipv6[n]!;
    states[name] = v4 + v6;
    ipv4 += v4;
    ipv6 += v6;
  }
  return {
    total: ipv4 + ipv6,
    states,
    families: { ipv4, ipv6 },
    source: raw.source,
    sourceFallback: raw.sourceFallback,
    unknown,
    tookMs: tookMs(),
  };
}
