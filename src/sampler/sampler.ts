/**
 * Sampling over time. SampleTaker takes one sample when asked: the counts by
 * state (one dump; with rows when owners or top rows are wanted) and the
 * owners of the attributed states' sockets through an OwnerCache, so a
 * sample costs little more than the dump. createSampler runs a SampleTaker
 * on a fixed schedule as an async iterable of Samples; the metrics
 * (metrics.ts) run one on scrapes.
 */
import { cgroupIds, cgroupLabels } from '../report/cgroup-names';
import { TcpcensusError } from '../errors';
import type { RawOwners, RawSampleResult } from '../core/raw';
import { buildRequest, checkSystem, OWNER_SOURCES, samplesOwners, type Request } from '../request/options';
import { OwnerCache, type OwnedRows } from './owner-cache';
import { dumpCounts, dumpRows, dumpRowsWithOwners } from '../core/runner';
import { maskNames, stateNumber, type StateName } from '../request/states';
import { GROUPINGS, type Grouping } from '../report/groupings';
import { topReport, type Labels } from '../report/top';
import type { Sample, Sampler, SamplerOptions } from '../types';
import { userNames } from '../report/users';

/** One sample's facts, before they become a Sample or metrics. */
export interface Observation {
  at: Date;
  seq: number;
  tookMs: number;
  /** Counts per kernel state number, per family. */
  ipv4: Float64Array;
  ipv6: Float64Array;
  /** Sockets held by no process (inode 0) per state number; null when no rows were dumped. */
  unowned: Float64Array | null;
  /** The dump, when rows were kept, and the indices of its rows in the attributed states. */
  table: RawSampleResult | null;
  rows: Uint32Array | null;
  /** Owners of those rows, when owners were looked up. */
  owned: OwnedRows | null;
  /** Names the top rows show (users, cgroup paths). */
  labels: Labels;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Takes one sample when asked; keeps the owner cache between samples. */
export class SampleTaker {
  private seq = 0;
  private checked = false;
  private readonly cache: OwnerCache | undefined;
  private readonly withRows: boolean;
  /** The names the top rows show (createSampler's grouping; the metrics name cgroups themselves). */
  private readonly names: Grouping['labels'];

  constructor(readonly req: Request) {
    const s = req.sampling!;
    this.names = req.call === 'createSampler' ? GROUPINGS[req.by].labels : undefined;
    if (samplesOwners(req)) {
      this.cache = new OwnerCache({ threads: req.raw.threads ?? 0, procRoot: req.raw.procRoot, ownerSource: s.ownerSource, fullEvery: s.fullEvery });
    }
    this.withRows = s.top;
  }

  async take(): Promise<Observation> {
    const at = new Date();
    const t0 = performance.now();
    if (!this.checked) {
      await checkSystem(this.req);
      this.checked = true;
    }
    const seq = ++this.seq;
    const s = this.req.sampling!;
    if (!this.withRows) {
      const c = await dumpCounts(this.req.raw);
      return {
        at,
        seq,
        tookMs: round(performance.now() - t0),
        ipv4: c.ipv4,
        ipv6: c.ipv6,
        unowned: null,
        table: null,
        rows: null,
        owned: null,
        labels: {},
      };
    }
    // Only the attributed states' rows are kept; every state is counted in
    // the dump's tally. With the eBPF iterator as the owner source, the
    // owners come with the dump (the iterator runs while the kernel dumps);
    // otherwise the cached owners' start times are read while the kernel dumps.
    const joined = this.cache?.joinsInDump() === true;
    const raw = { ...this.req.raw, keepStates: s.attributed };
    let dumpMs = 0;
    const [t, users, gone] = await Promise.all([
      (joined ? dumpRowsWithOwners(raw, s.attributed) : dumpRows(raw)).then((x) => {
        dumpMs = performance.now() - t0;
        return x;
      }),
      this.names === 'users' ? userNames() : undefined,
      joined ? undefined : this.cache?.validate(seq),
    ]);
    const { ipv4, ipv6, unowned } = t.tally;
    // Every kept row is in an attributed state.
    const rows = new Uint32Array(t.size);
    for (let i = 0; i < t.size; i++) rows[i] = i;
    let owned: OwnedRows | null = null;
    if (this.cache && joined) {
      owned = this.cache.fromDump(t, rows, seq);
      owned.stats.lookupMs = round(performance.now() - t0 - dumpMs);
    } else if (this.cache) {
      let dumped = 0;
      for (let st = 0; st < ipv4.length; st++) dumped += ipv4[st]! + ipv6[st]!;
      owned = await this.cache.attribute(t, rows, seq, gone!, dumpMs, dumped);
      // A forced source that did not answer: the walk stood in, which was not what was asked.
      if (s.ownerSource !== 'auto' && owned.stats.source !== s.ownerSource) {
        const others = OWNER_SOURCES.filter((o) => o !== s.ownerSource)
          .map((o) => `'${o}'`)
          .join(' or ');
        throw new TcpcensusError(
          `owner source ${s.ownerSource} is not available here (owners came from ${owned.stats.source}); use owners ${others}`,
          'ERR_TCPCENSUS_OWNER_SOURCE',
        );
      }
    }
    // By cgroup, the rows name the cgroup ids the dump carries (no owners needed).
    const labels: Labels = this.names === 'cgroups' ? { cgroups: await cgroupLabels(cgroupIds(t.cgroupId, t.size)) } : { users };
    return { at, seq, tookMs: round(performance.now() - t0), ipv4, ipv6, unowned, table: t, rows, owned, labels };
  }
}

/** The owners of an observation in the shape the top report reads. */
function rawOwners(o: OwnedRows): RawOwners {
  return {
    owner: o.owner,
    processes: [...o.processes.values()],
    wanted: 0,
    found: 0,
    shared: o.shared,
    unreadable: o.unreadable,
    vanished: 0,
    walked: o.stats.walkedProcesses,
    candidates: 0,
    complete: o.stats.full,
    failedPids: new Int32Array(0),
    failedErrnos: new Int32Array(0),
    failedCalls: [],
    source: o.stats.source,
    fallback: o.stats.fallback,
  };
}

/** A Sample from an observation and the one before it. */
export function toSample(req: Request, obs: Observation, prev: Pick<Observation, 'ipv4' | 'ipv6'> | null, skipped: number): Sample {
  const states: Sample['states'] = {};
  let ipv4 = 0;
  let ipv6 = 0;
  const delta: Sample['delta'] = prev ? {} : null;
  for (const name of maskNames(req.raw.states)) {
    const n = stateNumber(name);
    states[name] = obs.ipv4[n]! + obs.ipv6[n]!;
    ipv4 += obs.ipv4[n]!;
    ipv6 += obs.ipv6[n]!;
    if (delta && prev) delta[name] = states[name] - (prev.ipv4[n]! + prev.ipv6[n]!);
  }
  let top: Sample['top'] = null;
  if (req.sampling!.top && obs.table && obs.rows) {
    const t: RawSampleResult = obs.owned ? { ...obs.table, owners: rawOwners(obs.owned) } : obs.table;
    top = topReport(req, t, obs.labels, () => obs.tookMs, obs.rows, req.sampling!.attributed);
  }
  return {
    at: obs.at,
    seq: obs.seq,
    total: ipv4 + ipv6,
    states,
    families: { ipv4, ipv6 },
    delta,
    top,
    attribution: obs.owned ? { ...obs.owned.stats } : null,
    skipped,
    tookMs: obs.tookMs,
  };
}

/** Names of the states a sample counts. */
export function countedStates(req: Request): StateName[] {
  return maskNames(req.raw.states);
}

/**
 * The schedule: ticks at start + k * interval. The first sample is taken at
 * once; each next one at the next tick after the previous sample ended and
 * the reader asked again. Ticks that passed meanwhile are skipped (counted
 * in `skipped`), never caught up in a burst, so two samples never overlap.
 */
class TickSampler implements Sampler {
  private start = -1;
  private tick = 0;
  /** The previous sample's counts (not its table: that may go). */
  private prev: Pick<Observation, 'ipv4' | 'ipv6'> | null = null;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly taker: SampleTaker,
    private readonly intervalMs: number,
  ) {}

  [Symbol.asyncIterator](): Sampler {
    return this;
  }

  next(): Promise<IteratorResult<Sample>> {
    // Calls made before the last one settled wait their turn: no overlap.
    const run = this.chain.then(() => this.step());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async return(): Promise<IteratorResult<Sample>> {
    await this.close();
    return { done: true, value: undefined };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    await this.chain;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async step(): Promise<IteratorResult<Sample>> {
    if (this.closed) return { done: true, value: undefined };
    let skipped = 0;
    const now = performance.now();
    if (this.start < 0) {
      this.start = now;
      this.tick = 0;
    } else {
      const earliest = this.tick + 1;
      const target = Math.max(earliest, Math.ceil((now - this.start) / this.intervalMs));
      skipped = target - earliest;
      this.tick = target;
      const wait = this.start + target * this.intervalMs - now;
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, wait);
        });
        this.timer = undefined;
        this.wake = undefined;
      }
      if (this.closed) return { done: true, value: undefined };
    }
    const obs = await this.taker.take();
    if (this.closed) return { done: true, value: undefined };
    const sample = toSample(this.taker.req, obs, this.prev, skipped);
    this.prev = { ipv4: obs.ipv4, ipv6: obs.ipv6 };
    return { done: false, value: sample };
  }
}

/**
 * A sampler: an async iterable of samples every `interval` (default 1s),
 * stopped with close() (or `await using`). Bad options throw here; the
 * checks that need the system (procRoot) reject the first sample.
 */
export function createSampler(options?: SamplerOptions): Sampler {
  const req = buildRequest('createSampler', options);
  return new TickSampler(new SampleTaker(req), req.sampling!.intervalMs);
}
