/**
 * tcpcensus: count TCP sockets by state and find the processes that hold
 * them, over NETLINK_SOCK_DIAG and /proc. See README.md.
 */
export {
  countStates,
  countStatesSync,
  topProcesses,
  topProcessesSync,
  snapshot,
  snapshotSync,
  type CountOptions,
  type TopOptions,
  type SnapshotOptions,
  type StateCounts,
  type TopReport,
  type ProcessRow,
  type FamilyOption,
} from './api';
export { SocketTable, type SocketRow, type SocketColumns, type OwnerSummary, type ProcessInfo, type Family } from './table';
export { STATE_NAMES, STATE_MEANINGS, type StateName } from './states';
export { TcpcensusError, SystemError, OptionError, LimitError } from './errors';
