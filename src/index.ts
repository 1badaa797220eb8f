/**
 * tcpcensus: count TCP sockets by state and find the processes that hold
 * them, over NETLINK_SOCK_DIAG and /proc. See README.md. This is the one
 * public surface: everything a user may import is exported here.
 */
export {
  countStates, countStatesSync, topProcesses, topProcessesSync, snapshot, snapshotSync, topCgroupsByState, topCgroupsByStateSync,
} from './api';
export { snapshotStream, type SnapshotBatch } from './stream';
export { createSampler } from './sampler';
export { registerMetrics } from './lazy';
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
export { cgroupShortName, type CgroupName } from './cgroup';
export { SocketTable, type SocketRow, type SocketColumns, type OwnerSummary, type ProcessInfo, type Family } from './table';
export { STATE_NAMES, STATE_MEANINGS, type StateName, type StatesOf, type CountsOf, type AnyStates, type DefaultStates } from './states';
export { TcpcensusError, SystemError, OptionError, LimitError } from './errors';
