/**
 * Prometheus metrics on prom-client: registerMetrics puts tcpcensus's
 * metrics into a registry (a service's own, or serve's), sampled when that
 * registry is scraped. A label a process or cgroup names (command, cgroup)
 * has its control characters escaped (common/escape.ts), as on a terminal:
 * a scrape is read by people with curl too. Scrapes share samples: one in flight is shared by
 * every scrape that comes meanwhile, and a scrape within minInterval of the
 * last sample's start reuses it. Owners are found incrementally between
 * scrapes (owner-cache.ts).
 *
 * Series (README "Metrics"): tcpcensus_sockets{state,family} for every
 * state; per attributed state (ownerStates, default CLOSE_WAIT) the top
 * `top` commands in tcpcensus_command_sockets{state,command} and the top
 * `topProcesses` processes in tcpcensus_process_sockets{state,pid,command};
 * the top `top` cgroups per attributed state in
 * tcpcensus_cgroup_sockets{state,cgroup} (the cgroup v2 path of the process
 * that created the socket: a service or container, with no owner walk);
 * tcpcensus_unowned_sockets{state}, tcpcensus_unattributed_sockets{state},
 * tcpcensus_unreadable_processes, tcpcensus_sample_duration_seconds,
 * tcpcensus_owner_source{source}, tcpcensus_owner_source_fallback{reason}
 * (why the eBPF iterator could not be used, when it could not) and
 * tcpcensus_host_limit{limit} (read once per sample).
 *
 * Only this module and serve.ts load prom-client (and only serve.ts
 * node:http): nothing else imports them, so the other commands never pay
 * for them.
 */
import { printable } from '../common/escape';
import { readFile } from 'node:fs/promises';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { cgroupLabels } from '../report/cgroup-names';
import { buildRequest, type Request } from '../request/options';
import { SampleTaker, type Observation } from '../sampler/sampler';
import { maskNames, stateNumber, type StateName } from '../request/states';
import type { MetricsOptions } from '../types';

/** One sample for many scrapes: shared while in flight, reused within minInterval. */
export class SharedSamples {
  private inflight: Promise<Observation> | null = null;
  private last: Observation | null = null;
  private lastStart = -Infinity;
  /** The last sample's failure, until a sample succeeds. */
  lastError: Error | null = null;
  onSample: ((o: Observation) => void) | undefined;
  /** Told why, on each sample whose owners came from the walk because the eBPF iterator could not be used ('auto'). */
  onOwnerFallback: ((reason: string) => void) | undefined;

  constructor(
    private readonly taker: SampleTaker,
    private readonly minIntervalMs: number,
  ) {}

  /** The sample a scrape starting now reports. Never awaits before deciding, so every collect of one scrape shares it. */
  latest(): Promise<Observation> {
    if (this.inflight) return this.inflight;
    const now = Date.now();
    if (this.last && now - this.lastStart < this.minIntervalMs) return Promise.resolve(this.last);
    this.lastStart = now;
    const p = this.taker.take().then(
      (o) => {
        this.last = o;
        this.lastError = null;
        this.onSample?.(o);
        const why = o.owned?.stats.fallback;
        if (why) this.onOwnerFallback?.(why);
        return o;
      },
      (err: unknown) => {
        this.lastError = err instanceof Error ? err : new Error(String(err));
        throw err;
      },
    );
    this.inflight = p;
    const clear = () => {
      this.inflight = null;
    };
    p.then(clear, clear);
    return p;
  }
}

interface Owners {
  /** Per attributed state: pid -> sockets. */
  byPid: Map<StateName, Map<number, number>>;
  unattributed: Map<StateName, number>;
  comm: Map<number, string>;
}

// What an observation says per owner, computed once per observation.
const ownersCache = new WeakMap<Observation, Owners>();
function ownersOf(o: Observation, attributed: StateName[]): Owners {
  let r = ownersCache.get(o);
  if (r) return r;
  r = {
    byPid: new Map(attributed.map((s) => [s, new Map<number, number>()])),
    unattributed: new Map(attributed.map((s) => [s, 0])),
    comm: new Map(),
  };
  const t = o.table;
  const rows = o.rows;
  const owned = o.owned;
  if (t && rows && owned) {
    const names = new Map(attributed.map((s) => [stateNumber(s), s]));
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j]!;
      const state = names.get(t.state[i]!);
      if (!state || t.inode[i] === 0) continue;
      const pid = owned.owner[i]!;
      if (pid === 0) {
        r.unattributed.set(state, r.unattributed.get(state)! + 1);
        continue;
      }
      const m = r.byPid.get(state)!;
      m.set(pid, (m.get(pid) ?? 0) + 1);
    }
    for (const [pid, p] of owned.processes) r.comm.set(pid, p.comm);
  }
  ownersCache.set(o, r);
  return r;
}

// Per attributed state: cgroup id -> sockets (the kernel's tag, so no owner
// look-up is needed; 0 is no cgroup: TIME_WAIT, request sockets).
const cgroupCache = new WeakMap<Observation, Map<StateName, Map<bigint, number>>>();
function cgroupsOf(o: Observation, attributed: StateName[]): Map<StateName, Map<bigint, number>> {
  let r = cgroupCache.get(o);
  if (r) return r;
  r = new Map(attributed.map((s) => [s, new Map()]));
  const t = o.table;
  if (t && o.rows) {
    const names = new Map(attributed.map((s) => [stateNumber(s), s]));
    for (const i of o.rows) {
      const state = names.get(t.state[i]!);
      const id = t.cgroupId[i]!;
      if (!state || id === 0n) continue;
      const m = r.get(state)!;
      m.set(id, (m.get(id) ?? 0) + 1);
    }
  }
  cgroupCache.set(o, r);
  return r;
}

/** The n largest entries of a map by value, ties by key. */
function topN<K extends string | number | bigint>(m: Map<K, number>, n: number): Array<[K, number]> {
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, n);
}

const HOST_LIMITS: Array<[string, string, (text: string) => number]> = [
  ['tcp_max_tw_buckets', 'sys/net/ipv4/tcp_max_tw_buckets', Number],
  ['tcp_max_orphans', 'sys/net/ipv4/tcp_max_orphans', Number],
  ['file_max', 'sys/fs/file-max', Number],
  [
    'local_ports',
    'sys/net/ipv4/ip_local_port_range',
    (t) => {
      const [lo, hi] = t.trim().split(/\s+/).map(Number);
      return hi! - lo! + 1;
    },
  ],
];

type HostLimits = Array<readonly [string, number]>;

// Read once per sample (not per scrape: a flood of scrapes must not be a
// flood of open files); readFile closes its fd on every path.
const hostLimitsCache = new WeakMap<Observation, Promise<HostLimits>>();
function hostLimitsOf(o: Observation, procRoot: string): Promise<HostLimits> {
  let r = hostLimitsCache.get(o);
  if (r) return r;
  r = Promise.all(
    HOST_LIMITS.map(async ([limit, file, parse]) => {
      try {
        return [limit, parse(await readFile(`${procRoot}/${file}`, 'utf8'))] as const;
      } catch {
        return [limit, NaN] as const; // not there (another kernel, a sandbox): no series
      }
    }),
  );
  hostLimitsCache.set(o, r);
  return r;
}

/** Installs the metrics of a checked request into a registry; returns the shared sampler behind them. */
export function installMetrics(registry: Registry, req: Request): SharedSamples {
  const s = req.sampling!;
  const counted = maskNames(req.raw.states);
  const attributed = maskNames(s.attributed);
  const families = (['ipv4', 'ipv6'] as const).filter((_f, k) => (req.raw.families >> k) & 1);
  const procRoot = req.raw.procRoot ?? '/proc';
  const shared = new SharedSamples(new SampleTaker(req), s.minIntervalMs);
  const registers = [registry];

  const duration = new Histogram({
    name: 'tcpcensus_sample_duration_seconds',
    help: 'Time a sample took: the dump of every TCP socket and the owner look-ups.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
    // Waits for the scrape's sample, so the scrape that took it counts it.
    async collect() {
      await shared.latest();
    },
  });
  shared.onSample = (o) => duration.observe(o.tookMs / 1000);

  new Gauge({
    name: 'tcpcensus_sockets',
    help: 'TCP sockets by state and address family (IPv4-mapped IPv6 sockets count as ipv6).',
    labelNames: ['state', 'family'],
    registers,
    async collect() {
      const o = await shared.latest();
      this.reset();
      for (const state of counted) {
        const n = stateNumber(state);
        for (const family of families) this.set({ state, family }, (family === 'ipv4' ? o.ipv4 : o.ipv6)[n]!);
      }
    },
  });
  new Gauge({
    name: 'tcpcensus_unowned_sockets',
    help: 'TCP sockets held by no process (TIME_WAIT, orphans, request sockets), by state.',
    labelNames: ['state'],
    registers,
    async collect() {
      const o = await shared.latest();
      this.reset();
      for (const state of counted) this.set({ state }, o.unowned?.[stateNumber(state)] ?? 0);
    },
  });
  new Gauge({
    name: 'tcpcensus_command_sockets',
    help: `TCP sockets of the attributed states (${attributed.join(', ')}) by owning command (/proc/<pid>/comm): the top ${s.topCommands} commands per state.`,
    labelNames: ['state', 'command'],
    registers,
    async collect() {
      const o = ownersOf(await shared.latest(), attributed);
      this.reset();
      for (const [state, byPid] of o.byPid) {
        const byCommand = new Map<string, number>();
        for (const [pid, n] of byPid) {
          const c = o.comm.get(pid) ?? '';
          byCommand.set(c, (byCommand.get(c) ?? 0) + n);
        }
        for (const [command, n] of topN(byCommand, s.topCommands)) this.set({ state, command: printable(command) }, n);
      }
    },
  });
  // --top-processes 0: no per-process series (no pids, no per-process
  // commands) for whoever can reach the exporter.
  if (s.topProcesses > 0)
    new Gauge({
      name: 'tcpcensus_process_sockets',
      help: `TCP sockets of the attributed states (${attributed.join(', ')}) by owning process: the top ${s.topProcesses} processes per state.`,
      labelNames: ['state', 'pid', 'command'],
      registers,
      async collect() {
        const o = ownersOf(await shared.latest(), attributed);
        this.reset();
        for (const [state, byPid] of o.byPid) {
          for (const [pid, n] of topN(byPid, s.topProcesses)) this.set({ state, pid: String(pid), command: printable(o.comm.get(pid)) }, n);
        }
      },
    });
  new Gauge({
    name: 'tcpcensus_cgroup_sockets',
    help: `TCP sockets of the attributed states (${attributed.join(', ')}) by the cgroup v2 of the process that created them (its path under the cgroup2 mount): the top ${s.topCommands} cgroups per state.`,
    labelNames: ['state', 'cgroup'],
    registers,
    async collect() {
      const per = [...cgroupsOf(await shared.latest(), attributed)].map(([state, m]) => [state, topN(m, s.topCommands)] as const);
      const ids = new Set(per.flatMap(([, top]) => top.map(([id]) => id)));
      // No cgroup2 mount to name them by: the ids alone, never a failed scrape.
      const labels = await cgroupLabels(ids).catch(() => new Map<bigint, { path: string | null }>());
      this.reset();
      for (const [state, top] of per) {
        for (const [id, n] of top) this.set({ state, cgroup: printable(labels.get(id)?.path ?? `cgroup id ${id}`) }, n);
      }
    },
  });
  new Gauge({
    name: 'tcpcensus_unattributed_sockets',
    help: 'TCP sockets of the attributed states held by a process that was not found: unreadable, exited, or new since the last look-up.',
    labelNames: ['state'],
    registers,
    async collect() {
      const o = ownersOf(await shared.latest(), attributed);
      this.reset();
      for (const [state, n] of o.unattributed) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tcpcensus_unreadable_processes',
    help: 'Processes whose fd table could not be read in the last walk of every process (not root, or no CAP_SYS_PTRACE).',
    registers,
    async collect() {
      const o = await shared.latest();
      this.set(o.owned?.unreadable ?? 0);
    },
  });
  new Gauge({
    name: 'tcpcensus_owner_source',
    help: 'The owner source that answered the last sample (1): proc (the /proc walk) or bpf.',
    labelNames: ['source'],
    registers,
    async collect() {
      const o = await shared.latest();
      this.reset();
      if (o.owned) this.set({ source: o.owned.stats.source }, 1);
    },
  });
  new Gauge({
    name: 'tcpcensus_owner_source_fallback',
    help: "Present (1) when owners were asked of the eBPF iterator (owners auto) but the last sample's came from the /proc walk: why it could not be used.",
    labelNames: ['reason'],
    registers,
    async collect() {
      const o = await shared.latest();
      this.reset();
      const why = o.owned?.stats.fallback;
      if (why) this.set({ reason: why }, 1);
    },
  });
  new Gauge({
    name: 'tcpcensus_host_limit',
    help: 'Host limits the socket counts run into: tcp_max_tw_buckets (TIME_WAIT), tcp_max_orphans, file_max (fs.file-max), local_ports (the size of ip_local_port_range).',
    labelNames: ['limit'],
    registers,
    async collect() {
      const values = await hostLimitsOf(await shared.latest(), procRoot);
      // Reset and set with no await between, so concurrent scrapes never see a half.
      this.reset();
      for (const [limit, v] of values) if (Number.isFinite(v)) this.set({ limit }, v);
    },
  });
  return shared;
}

/**
 * Puts tcpcensus's metrics into a prom-client registry; they are sampled on
 * that registry's scrapes (one sample shared by concurrent scrapes and
 * reused within minInterval). Throws OptionError for bad options.
 */
export function registerMetrics(registry: Registry, options?: MetricsOptions): void {
  installMetrics(registry, buildRequest('registerMetrics', options));
}
