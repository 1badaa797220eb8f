/**
 * The socket table's columns, with no addon behind them, so any module can
 * know the table's shape without loading the native code.
 */

/**
 * The socket table's columns: the one TypeScript declaration of them, the
 * twin of TCPCENSUS_SOCKET_COLUMNS in native/sockets/socket_table.h (the
 * loader checks the two agree when it loads the addon). Each entry is the
 * typed array the addon fills and how many values a row takes.
 */
export const COLUMNS = {
  state: [Uint8Array, 1],
  /** 4 or 6 */
  family: [Uint8Array, 1],
  /** 16 bytes per row, network order; IPv4 uses the first 4. */
  localAddr: [Uint8Array, 16],
  remoteAddr: [Uint8Array, 16],
  localPort: [Uint16Array, 1],
  remotePort: [Uint16Array, 1],
  recvQ: [Uint32Array, 1],
  sendQ: [Uint32Array, 1],
  uid: [Uint32Array, 1],
  inode: [Uint32Array, 1],
  ifindex: [Uint32Array, 1],
  /** The kernel's socket cookie, unique per socket. */
  cookie: [BigUint64Array, 1],
  /**
   * cgroup v2 id of the process that created the socket (the inode of its
   * cgroup directory), 0 when unknown: the kernel's mini-sockets carry none
   * (TIME_WAIT, orphaned FIN_WAIT2 kept as TIME_WAIT in substate FIN_WAIT2,
   * SYN_RECV request sockets), and the procfs source has none at all.
   */
  cgroupId: [BigUint64Array, 1],
} as const;

export type ColumnName = keyof typeof COLUMNS;

/** The socket table's columns, one entry (16 bytes for addresses) per socket. */
export type RawColumns = { [K in ColumnName]: InstanceType<(typeof COLUMNS)[K][0]> };

/** The column values of a raw result, without its other fields. */
export function columnsOf(t: RawColumns): RawColumns {
  const out = {} as Record<ColumnName, RawColumns[ColumnName]>;
  for (const name of Object.keys(COLUMNS) as ColumnName[]) out[name] = t[name];
  return out as RawColumns;
}
