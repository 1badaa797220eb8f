/**
 * tcpcensus: count TCP sockets by state and find the processes that hold
 * them, over NETLINK_SOCK_DIAG and /proc. See README.md. This is the one
 * public surface: everything a user may import is exported here.
 */
import type { Registry } from 'prom-client';
import type { MetricsOptions } from './types';

export {
  countStates,
  countStatesSync,
  topProcesses,
  topProcessesSync,
  snapshot,
  snapshotSync,
  topCgroupsByState,
  topCgroupsByStateSync,
} from './api';
export { snapshotStream, type SnapshotBatch } from './stream';
export { createSampler } from './sampler/sampler';
export {
  TOP_BY,
  type CountOptions,
  type TopOptions,
  type SnapshotOptions,
  type FilterOptions,
  type WalkOptions,
  type RowOptions,
  type StateCounts,
  type StateCountsOf,
  type NetnsStateCountsOf,
  type TopReport,
  type TopRow,
  type TopBy,
  type ProcessRow,
  type FamilyOption,
  type SocketSource,
  type Unknown,
  type AllNetnsOption,
  type NetnsLabel,
  type SkippedNetns,
  type NetnsStateCounts,
  type NetnsTopReport,
  type NetnsSnapshot,
  type CgroupStateOptions,
  type CgroupStateReport,
  type CgroupStateRow,
  type SamplingOptions,
  type SamplerOptions,
  type MetricsOptions,
  type OwnerSourceOption,
  type Sample,
  type Sampler,
  type Attribution,
} from './types';
export { cgroupShortName, type CgroupName } from './report/cgroup-name';
export { SocketTable, type SocketRow, type SocketColumns, type OwnerSummary, type ProcessInfo, type Family } from './report/table';
export { STATE_NAMES, STATE_MEANINGS, type StateName, type StatesOf, type CountsOf, type AnyStates, type DefaultStates } from './request/states';
export { TcpcensusError, SystemError, OptionError, LimitError } from './errors';

/**
 * Puts tcpcensus's metrics into a prom-client registry, sampled on that
 * registry's scrapes (docs/metrics.md). Throws OptionError for bad options.
 * The metrics module (and prom-client under it) loads only when this is
 * called: `require('tcpcensus')` must not load it for a service that only
 * counts sockets.
 */
export function registerMetrics(registry: Registry, options?: MetricsOptions): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./metrics/metrics') as typeof import('./metrics/metrics')).registerMetrics(registry, options);
}
