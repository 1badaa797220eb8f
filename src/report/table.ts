/**
 * SocketTable: the columnar result of a snapshot. The columns are the typed
 * arrays the addon filled (no copy); rows become objects only when asked for,
 * one at a time, so a table of a million sockets holds a few dozen objects.
 */
import { formatAddress } from './address';
import { columnsOf, type RawColumns } from '../core/columns';
import type { RawDumpInfo, RawProcess, RawTable } from '../core/raw';
import { stateName, stateNumber, type StateName } from '../request/states';
import { OWNER_SOURCE, type OwnerSource, type SocketSource, type Unknown } from '../core/sources';

export type Family = 'ipv4' | 'ipv6';

const LISTEN = stateNumber('LISTEN');

export interface SocketRow {
  state: StateName;
  family: Family;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  recvQ: number;
  /** For LISTEN, the backlog; null there when the source cannot show it (/proc/net/tcp). */
  sendQ: number | null;
  uid: number;
  inode: number;
  /**
   * Owning pid, present when the table was taken with processes: null when
   * no readable process holds the socket.
   */
  pid?: number | null;
  command?: string | null;
}

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm */
  command: string;
  /** /proc/<pid>/cmdline with NULs as spaces */
  cmdline: string;
  /** Rows of this table the process owns. */
  sockets: number;
}

/** What the /proc walk saw; present when the table was taken with processes. */
export interface OwnerSummary {
  /** Owning pid per row, 0 for none. */
  pid: Int32Array;
  /** Owning processes by pid. */
  processes: Map<number, ProcessInfo>;
  /** Sockets held by more than one process (counted once, for the lowest pid). */
  shared: number;
  /**
   * Processes whose fd table could not be read (EACCES/EPERM: not root, or
   * root without CAP_SYS_PTRACE).
   */
  unreadableProcesses: number;
  /** The procfs mount option that hides other users' processes from this one ("hidepid=invisible"), else null (TopReport.procHidden). */
  procHidden: string | null;
  /** Processes that exited during the walk. */
  vanishedProcesses: number;
  /** Processes whose fd table was read. */
  walkedProcesses: number;
  /** False when the walk stopped early because every socket had an owner. */
  complete: boolean;
  /** The owner source that answered: 'bpf' (the eBPF iterator) or 'proc' (the walk). */
  source: OwnerSource;
  /** Why owners 'auto' did not use the eBPF iterator; null when it did or was not asked. */
  fallback: string | null;
}

/** The columns: the typed arrays the addon filled, not copied. */
export type SocketColumns = RawColumns;

export function toProcessInfo(p: RawProcess): ProcessInfo {
  return { pid: p.pid, command: p.comm, cmdline: p.cmdline, sockets: p.sockets };
}

export class SocketTable implements Iterable<SocketRow> {
  readonly length: number;
  readonly columns: SocketColumns;
  readonly owners: OwnerSummary | undefined;
  /** Where the sockets came from: 'netlink' (sock_diag) or 'procfs' (/proc/net/tcp). */
  readonly source: SocketSource;
  /** Why source 'auto' read /proc/net/tcp (the refused call); null when it did not. */
  readonly sourceFallback: string | null;
  /**
   * What the source could not show: its columns hold 0 there, which is not
   * a value ('cgroupId', 'cookie', 'ifindex': those columns;
   * 'listenBacklog': sendQ of LISTEN rows; 'boundInactive': CLOSE rows).
   */
  readonly unknown: Unknown[];
  /** The inode of the network namespace the sockets are in (net:[INODE]); 0 when unreadable. */
  readonly netnsInode: number;
  readonly #noBacklog: boolean;

  /** procHidden: what the request's system checks found (Request.procHidden). */
  constructor(raw: RawTable & RawDumpInfo, procHidden: string | null = null) {
    this.length = raw.size;
    this.columns = columnsOf(raw);
    this.source = raw.source;
    this.sourceFallback = raw.sourceFallback;
    this.unknown = [...raw.missing];
    this.netnsInode = raw.netnsInode;
    this.#noBacklog = raw.missing.includes('listenBacklog');
    const owners = raw.owners;
    if (owners) {
      const processes = new Map<number, ProcessInfo>();
      for (const p of owners.processes) processes.set(p.pid, toProcessInfo(p));
      this.owners = {
        pid: owners.owner,
        processes,
        shared: owners.shared,
        unreadableProcesses: owners.unreadable,
        procHidden: OWNER_SOURCE[owners.source].seesOnlyListedProcesses ? procHidden : null,
        vanishedProcesses: owners.vanished,
        walkedProcesses: owners.walked,
        complete: owners.complete,
        source: owners.source,
        fallback: owners.fallback,
      };
    } else {
      this.owners = undefined;
    }
  }

  row(i: number): SocketRow {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`row ${i} is outside 0..${this.length - 1}`);
    }
    const c = this.columns;
    const fam = c.family[i]!;
    const row: SocketRow = {
      state: stateName(c.state[i]!),
      family: fam === 6 ? 'ipv6' : 'ipv4',
      localAddress: formatAddress(fam, c.localAddr, i),
      localPort: c.localPort[i]!,
      remoteAddress: formatAddress(fam, c.remoteAddr, i),
      remotePort: c.remotePort[i]!,
      recvQ: c.recvQ[i]!,
      sendQ: this.#noBacklog && c.state[i] === LISTEN ? null : c.sendQ[i]!,
      uid: c.uid[i]!,
      inode: c.inode[i]!,
    };
    if (this.owners) {
      const pid = this.owners.pid[i]!;
      row.pid = pid === 0 ? null : pid;
      row.command = pid === 0 ? null : (this.owners.processes.get(pid)?.command ?? null);
    }
    return row;
  }

  *[Symbol.iterator](): Iterator<SocketRow> {
    for (let i = 0; i < this.length; i++) yield this.row(i);
  }
}
