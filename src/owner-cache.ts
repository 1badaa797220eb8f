/**
 * Incremental owner attribution, for a sampler that asks every second who
 * holds the sockets of some states. Looking up every socket's owner each
 * time means reading every fd link of every process (about 4 us each, all
 * in the kernel); between two samples few sockets change, so this keeps
 * what it learnt and looks up only what it does not know.
 *
 * - The cache maps each socket, keyed by its cookie (unique per socket per
 *   boot), to its owner pid and the fd it was seen at. An owner is trusted
 *   only while its process still exists with the same start time (field 22
 *   of /proc/<pid>/stat, one small read per owning process per sample), so
 *   a socket is never blamed on a new process that reused the pid.
 * - A socket that leaves frees its fd slot; a process reuses its lowest free
 *   fd, so new sockets usually land in those slots. A sample reads the slots
 *   freed in the last few samples (probes: one readlinkat each) for the
 *   sockets it does not know, and walks no fd directory for them.
 * - The processes that got new sockets recently are walked next, in the
 *   same sample, as far as they are cheap: their fd counts from their last
 *   walk add up to at most a small budget (about a tenth of the dump's
 *   cost), since a socket that is gone already makes the walk read every
 *   one of their fds. A leaking service's new sockets are found there.
 * - A socket still not found is "pending" for one sample. If it is still
 *   there at the next, the processes that got new sockets recently are
 *   walked for it first, then every other one, stopping once all are
 *   found. Sockets that come and go within a sample (a well-behaved
 *   server's CLOSE_WAIT lasts milliseconds) thus never cost a walk of
 *   /proc.
 * - One not found even so (its owner cannot be read, or it was closed) is
 *   unattributed until the next full attribution.
 * - A full attribution (every wanted socket, every process, lowest pid
 *   wins) runs on the first sample and every fullEvery samples, to catch
 *   sockets passed between processes; between two, a socket shared by
 *   several processes may be put under another holder than the lowest pid.
 * - With an owner source other than the walk (eBPF), every sample is a full
 *   attribution: that join is cheap anyway.
 */
import { endianness } from 'node:os';
import { native, type RawFound, type RawProcess, type RawTable } from './native';

export interface OwnerCacheOptions {
  threads: number;
  procRoot: string | undefined;
  ownerSource: string;
  fullEvery: number;
}

/** How one sample found its owners (the public Attribution). */
export interface AttributionStats {
  source: string;
  full: boolean;
  cached: number;
  lookedUp: number;
  probed: number;
  walkedProcesses: number;
  pending: number;
}

export interface OwnedRows {
  /** Owning pid per table row; 0 for none (or a row not asked about). */
  owner: Int32Array;
  /** The processes that own at least one of the rows asked about. */
  processes: Map<number, RawProcess>;
  stats: AttributionStats;
  /** Processes that could not be read, and shared sockets, in the last walk of every process. */
  unreadable: number;
  shared: number;
}

// Owner of a socket: pid > 0 owned; pid 0 with pendingSince > 0 not yet
// found (since that sample); pid 0 with pendingSince 0 not found anywhere.
interface Entry {
  pid: number;
  fd: number; // -1: unknown
  seen: number; // the last sample it was in
  pendingSince: number;
}

interface Proc {
  start: number;
  comm: string;
  cmdline: string;
  /** Fds it had when last walked (0: never walked, only probed). */
  fds: number;
  /** The last sample in which it got a socket this cache did not know. */
  lastNew: number;
}

/** A slot to probe: an fd a departed socket left, and when. */
interface Slot {
  pid: number;
  fd: number;
  freed: number;
}

/** Samples a freed fd slot stays worth probing (a new socket may take a while to reach the state). */
const SLOT_TTL = 5;
/** Probes per sample at most (each is one readlinkat, about 4 us). */
const MAX_PROBES = 4096;
/** Processes that got new sockets within this many samples are walked first. */
const RECENT = 10;
/**
 * Fds the recent owners may have for a same-sample walk: reading an fd link
 * costs about 5x dumping a socket, so rows / 50 keeps the walk near a tenth
 * of the dump; at least this many (about 8 ms) on a small host.
 */
const MIN_WALK_BUDGET = 2048;

const LE = endianness() === 'LE';

/** Cookie of row i as a Map key: a number when it fits 53 bits (always, in practice), else text. */
function cookieKey(words: Uint32Array, i: number): number | string {
  const lo = words[LE ? 2 * i : 2 * i + 1]!;
  const hi = words[LE ? 2 * i + 1 : 2 * i]!;
  return hi < 0x200000 ? hi * 4294967296 + lo : `${hi}:${lo}`;
}

const cookieWords = (t: RawTable) => new Uint32Array(t.cookie.buffer, t.cookie.byteOffset, t.size * 2);

export class OwnerCache {
  private entries = new Map<number | string, Entry>();
  private procs = new Map<number, Proc>();
  private slots: Slot[] = [];
  private lastFull = 0;
  private unreadable = 0;
  private shared = 0;
  private source: string | undefined;

  constructor(private readonly opts: OwnerCacheOptions) {}

  private isFull(seq: number): boolean {
    const walkOnly = this.source === undefined || this.source === 'proc';
    return !walkOnly || this.lastFull === 0 || seq - this.lastFull >= this.opts.fullEvery;
  }

  /**
   * Checks the start times of the known owners; start it before the dump of
   * sample seq, so the two run at once, and hand its answer to attribute.
   * Resolves with the pids whose process is gone or is another one now.
   */
  async validate(seq: number): Promise<Set<number>> {
    const gone = new Set<number>();
    if (this.isFull(seq) || this.procs.size === 0) return gone;
    const pids = Int32Array.from(this.procs.keys());
    const starts = await native.startTimes({ pids, ...this.procRoot() });
    pids.forEach((pid, k) => {
      if (starts[k] === 0 || starts[k] !== this.procs.get(pid)?.start) gone.add(pid);
    });
    return gone;
  }

  /** Owners of the given rows of a table, in sample number seq (1, 2, ...); gone from validate(seq). */
  async attribute(t: RawTable, rows: Uint32Array, seq: number, gone: Set<number>): Promise<OwnedRows> {
    return this.isFull(seq) ? this.fullRun(t, rows, seq) : this.incremental(t, rows, seq, gone);
  }

  private walkOptions() {
    const o: { threads: number; procRoot?: string; ownerSource: string } = { threads: this.opts.threads, ownerSource: this.opts.ownerSource };
    if (this.opts.procRoot !== undefined) o.procRoot = this.opts.procRoot;
    return o;
  }

  private async fullRun(t: RawTable, rows: Uint32Array, seq: number): Promise<OwnedRows> {
    const words = cookieWords(t);
    const inodes = new Uint32Array(rows.length);
    for (let j = 0; j < rows.length; j++) inodes[j] = t.inode[rows[j]!]!;
    const found = await native.findOwners({ ...this.walkOptions(), inodes, claims: true });
    this.source = found.source ?? 'proc';
    this.lastFull = seq;
    this.unreadable = found.unreadable;
    this.shared = found.shared;
    this.entries = new Map();
    this.slots = [];
    this.procs = new Map();
    this.learnProcesses(found, seq, false);
    const fdOf = claimedFds(found, inodes);
    const owner = new Int32Array(t.size);
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j]!;
      if (inodes[j] === 0) continue;
      const pid = found.owner[j]!;
      owner[i] = pid;
      // An owner whose start time could not be read exited meanwhile: use it
      // for this sample, but do not remember it.
      if (pid !== 0 && !this.procs.has(pid)) continue;
      this.entries.set(cookieKey(words, i), { pid, fd: pid ? (fdOf.get(inodes[j]!) ?? -1) : -1, seen: seq, pendingSince: 0 });
    }
    return this.result(owner, rows, {
      source: this.source, full: true, cached: 0, lookedUp: found.wanted, probed: 0, walkedProcesses: found.walked, pending: 0,
    }, found.processes);
  }

  private async incremental(t: RawTable, rows: Uint32Array, seq: number, gone: Set<number>): Promise<OwnedRows> {
    const words = cookieWords(t);
    for (const pid of gone) this.procs.delete(pid);

    const owner = new Int32Array(t.size);
    const unknown: number[] = []; // indices into rows
    let cached = 0;
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j]!;
      if (t.inode[i] === 0) continue;
      const e = this.entries.get(cookieKey(words, i));
      if (e) {
        e.seen = seq;
        if (e.pid > 0 && !gone.has(e.pid)) {
          owner[i] = e.pid;
          cached++;
          continue;
        }
        if (e.pid === 0 && e.pendingSince === 0) continue; // not found anywhere: wait for the next full run
      }
      unknown.push(j);
    }
    // Sockets that left free their fd slots (their owner may reuse them).
    for (const [key, e] of this.entries) {
      if (e.seen === seq) continue;
      this.entries.delete(key);
      if (e.pid > 0 && e.fd >= 0 && !gone.has(e.pid)) this.slots.push({ pid: e.pid, fd: e.fd, freed: seq });
    }
    this.slots = this.slots.filter((s) => seq - s.freed <= SLOT_TTL && !gone.has(s.pid));

    const stats: AttributionStats = { source: this.source ?? 'proc', full: false, cached, lookedUp: unknown.length, probed: 0, walkedProcesses: 0, pending: 0 };
    const seen: RawProcess[] = [];
    // 1. Every socket not known: the freed fd slots, one readlinkat each.
    let left = unknown.length && this.slots.length ? await this.lookUp(t, words, rows, unknown, owner, seq, stats, seen, 'probe') : unknown;
    // 2. The recent owners that are cheap to walk, in this sample.
    if (left.length > 0) {
      const cheap = this.cheapRecent(seq, Math.max(MIN_WALK_BUDGET, Math.floor(t.size / 50)));
      if (cheap.length > 0) left = await this.lookUp(t, words, rows, left, owner, seq, stats, seen, 'recent', cheap);
    }
    // 3. Those also missing at the last sample: walk the recent owners
    //    first, then every process, until all are found.
    const stale = left.filter((j) => {
      const e = this.entries.get(cookieKey(words, rows[j]!));
      return e !== undefined && e.pid === 0 && e.pendingSince > 0 && e.pendingSince < seq;
    });
    if (stale.length > 0) {
      await this.lookUp(t, words, rows, stale, owner, seq, stats, seen, 'walk');
      left = left.filter((j) => owner[rows[j]!] === 0);
    }
    // 4. What is left: new ones are pending, to be walked for at the next
    //    sample if still there; those walked for in vain wait for the next
    //    full attribution.
    for (const j of left) {
      const key = cookieKey(words, rows[j]!);
      const e = this.entries.get(key);
      const since = e && e.pid === 0 ? e.pendingSince : 0;
      if (since > 0 && since < seq) {
        e!.pendingSince = 0;
      } else {
        this.entries.set(key, { pid: 0, fd: -1, seen: seq, pendingSince: seq });
        stats.pending++;
      }
    }
    return this.result(owner, rows, stats, seen);
  }

  /** Pids of the recent owners, most recent first, whose last known fd counts add up to at most budget. */
  private cheapRecent(seq: number, budget: number): number[] {
    const out: number[] = [];
    let fds = 0;
    for (const [pid, p] of [...this.procs.entries()].sort((a, b) => b[1].lastNew - a[1].lastNew || a[0] - b[0])) {
      if (seq - p.lastNew > RECENT) break;
      if (p.fds === 0 || fds + p.fds > budget) continue;
      fds += p.fds;
      out.push(pid);
    }
    return out;
  }

  private procRoot(): { procRoot?: string } {
    return this.opts.procRoot !== undefined ? { procRoot: this.opts.procRoot } : {};
  }

  /**
   * Looks up the owners of rows[j] for j in `which`: in the freed fd slots
   * only ('probe'), walking the given processes only ('recent'), or walking
   * the recent owners first, then every process ('walk'). Records what it
   * finds; returns the j still without an owner.
   */
  private async lookUp(t: RawTable, words: Uint32Array, rows: Uint32Array, which: number[], owner: Int32Array,
    seq: number, stats: AttributionStats, seen: RawProcess[], how: 'probe' | 'recent' | 'walk', only: number[] = []): Promise<number[]> {
    const inodes = Uint32Array.from(which, (j) => t.inode[rows[j]!]!);
    let found: RawFound;
    let probed: Set<string> | undefined;
    if (how === 'probe') {
      const slots = this.slots.slice(-MAX_PROBES);
      const probes = new Int32Array(slots.length * 2);
      slots.forEach((s, k) => { probes[2 * k] = s.pid; probes[2 * k + 1] = s.fd; });
      probed = new Set(slots.map((s) => `${s.pid}:${s.fd}`));
      found = await native.findOwners({ ...this.walkOptions(), inodes, claims: true, probes, probesOnly: true });
    } else if (how === 'recent') {
      const pids = Int32Array.from(only);
      found = await native.findOwners({ ...this.walkOptions(), inodes, claims: true, pids, firstPids: pids });
    } else {
      const recent = [...this.procs.entries()]
        .filter(([, p]) => seq - p.lastNew <= RECENT)
        .sort((a, b) => b[1].lastNew - a[1].lastNew || a[0] - b[0])
        .map(([pid]) => pid);
      found = await native.findOwners({ ...this.walkOptions(), inodes, claims: true, firstPids: Int32Array.from(recent) });
      // A walk that stopped early saw only some of the unreadable processes.
      if (found.complete) this.unreadable = found.unreadable;
    }
    stats.walkedProcesses += found.walked;
    this.learnProcesses(found, seq, true);
    const fdOf = claimedFds(found, inodes);
    const left: number[] = [];
    const used = new Set<string>();
    which.forEach((j, k) => {
      const i = rows[j]!;
      const pid = found.owner[k]!;
      if (pid === 0) {
        left.push(j);
        return;
      }
      owner[i] = pid;
      const fd = fdOf.get(inodes[k]!) ?? -1;
      if (probed?.has(`${pid}:${fd}`)) {
        stats.probed++;
        used.add(`${pid}:${fd}`);
      }
      // Remembered only while the process is known (its start time was read).
      if (this.procs.has(pid)) this.entries.set(cookieKey(words, i), { pid, fd, seen: seq, pendingSince: 0 });
      else this.entries.delete(cookieKey(words, i));
    });
    if (used.size) this.slots = this.slots.filter((s) => !used.has(`${s.pid}:${s.fd}`));
    seen.push(...found.processes);
    return left;
  }

  private learnProcesses(found: RawFound, seq: number, isNew: boolean): void {
    for (const p of found.processes) {
      if (p.startTime === 0) continue; // exited while being read
      const known = this.procs.get(p.pid);
      const same = known !== undefined && known.start === p.startTime;
      this.procs.set(p.pid, {
        start: p.startTime, comm: p.comm, cmdline: p.cmdline,
        fds: p.fds > 0 ? p.fds : same ? known.fds : 0,
        lastNew: isNew ? seq : (same ? known.lastNew : -Infinity),
      });
    }
  }

  private result(owner: Int32Array, rows: Uint32Array, stats: AttributionStats, seen: RawProcess[]): OwnedRows {
    const processes = new Map<number, RawProcess>();
    // Names from this sample's look-ups for processes it could not keep.
    const fresh = new Map(seen.map((p) => [p.pid, p]));
    for (let j = 0; j < rows.length; j++) {
      const pid = owner[rows[j]!]!;
      if (pid === 0) continue;
      let p = processes.get(pid);
      if (!p) {
        const known = this.procs.get(pid);
        const f = fresh.get(pid);
        p = { pid, comm: known?.comm ?? f?.comm ?? '', cmdline: known?.cmdline ?? f?.cmdline ?? '', sockets: 0, startTime: known?.start ?? f?.startTime ?? 0, fds: known?.fds ?? f?.fds ?? 0 };
        processes.set(pid, p);
      }
      p.sockets++;
    }
    return { owner, processes, stats, unreadable: this.unreadable, shared: this.shared };
  }
}

/** fd of each found inode in its winning process, from the claims. */
function claimedFds(found: RawFound, inodes: Uint32Array): Map<number, number> {
  const winner = new Map<number, number>();
  for (let k = 0; k < inodes.length; k++) if (found.owner[k]) winner.set(inodes[k]!, found.owner[k]!);
  const fds = new Map<number, number>();
  for (let c = 0; c < found.claimPids.length; c++) {
    const inode = found.claimInodes[c]!;
    if (winner.get(inode) === found.claimPids[c]) fds.set(inode, found.claimFds[c]!);
  }
  return fds;
}
