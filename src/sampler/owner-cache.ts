/**
 * Incremental owner attribution, for a sampler that asks every second who
 * holds the sockets of some states. Looking up every socket's owner each
 * time means reading every fd link of every process (about 4 us each, all
 * in the kernel); between two samples few sockets change, so this keeps
 * what it learnt and looks up only what it does not know.
 *
 * - The cache maps each socket, by its cookie (unique per socket per boot;
 *   looked up by inode, trusted only when the cookie matches), to its owner
 *   pid and the fd it was seen at. An owner is trusted
 *   only while its process still exists with the same start time (field 22
 *   of /proc/<pid>/stat, one small read per owning process per sample), so
 *   a socket is never blamed on a new process that reused the pid.
 * - A socket that leaves frees its fd slot; a process reuses its lowest free
 *   fd, so new sockets usually land in those slots. A sample reads the slots
 *   freed in the last few samples (probes: one readlinkat each) for the
 *   sockets it does not know, and walks no fd directory for them.
 * - The processes that got new sockets recently are walked next, in the
 *   same sample, as far as they are cheap: their fd counts from their last
 *   walk add up to at most a small budget (about a twentieth of the dump's
 *   cost), since a socket that is gone already makes the walk read every
 *   one of their fds; one walked so in vain sits out a few samples. A
 *   leaking service's new sockets are found there.
 * - A socket still not found is "pending". If it is still there at a later
 *   sample, it is looked for among every known owner (recent ones first),
 *   and if not there, in every process, stopping once all are found.
 *   Sockets that come and go within a sample (a well-behaved server's
 *   CLOSE_WAIT lasts milliseconds) thus never cost a walk of /proc. These
 *   walks are paced, one a sample at most: one that took W ms is followed
 *   by the next only once the samples since have each "paid" max(25 ms,
 *   10% of their dump) towards it, so on a big host their cost spread over
 *   the samples stays near a tenth of the dump's; pending sockets wait
 *   meanwhile.
 * - One not found even so (its owner cannot be read, or it was closed) is
 *   unattributed until the next full attribution.
 * - A full attribution (every wanted socket, every process, lowest pid
 *   wins) runs on the first sample and every fullEvery samples, to catch
 *   sockets passed between processes; between two, a socket shared by
 *   several processes may be put under another holder than the lowest pid.
 * - With an owner source other than the walk (eBPF), every sample is a full
 *   attribution: that join is cheap anyway. Once the first sample found the
 *   iterator answering, the sampler asks for the owners in the dump itself
 *   (joinsInDump, fromDump), so the iterator runs while the kernel dumps and
 *   nothing is kept here between samples.
 *
 * Its look-ups (owners of given inodes, start times of given pids) come
 * through OwnerLookups, the runner's by default, so its rules can be checked
 * against a fake /proc without root or the addon (test/unit/owner-cache.test.ts).
 */
import { endianness } from 'node:os';
import type { RawFindOptions, RawFound, RawOwners, RawProcess, RawSampleResult, RawTable } from '../core/raw';
import { OWNER_SOURCE, type OwnerSource } from '../core/sources';

/** What the cache asks the system (runner.ts's calls of the same names, off the event loop). */
export interface OwnerLookups {
  /** Owners of the given socket inodes: by probes of fd slots, a walk of given pids, or of every process. */
  findOwners(opts: RawFindOptions): Promise<RawFound>;
  /** Start time (field 22 of /proc/<pid>/stat) of each pid; 0 for one that is gone. */
  startTimes(pids: Int32Array, procRoot: string | undefined): Promise<Float64Array>;
}

// Required when a cache is made, not when this module loads: loading the
// cache's rules loads no addon.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runnerLookups = (): OwnerLookups => require('../core/runner') as typeof import('../core/runner');

export interface OwnerCacheOptions {
  threads: number;
  procRoot: string | undefined;
  ownerSource: string;
  fullEvery: number;
}

/** How one sample found its owners (the public Attribution). */
export interface AttributionStats {
  source: OwnerSource;
  fallback: string | null;
  full: boolean;
  cached: number;
  lookedUp: number;
  probed: number;
  walkedProcesses: number;
  pending: number;
  lookupMs: number;
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
// Found by the socket's inode and trusted only when its cookie (unique per
// socket per boot) matches too: an inode number of a closed socket can come
// back on another one.
interface Entry {
  cookieLo: number;
  cookieHi: number;
  pid: number;
  fd: number; // -1: unknown
  seen: number; // the last sample it was in
  pendingSince: number;
  /** Pending, and already looked for among the known owners. */
  ownersTried: boolean;
}

interface Proc {
  start: number;
  comm: string;
  cmdline: string;
  /** Fds it had when last walked (0: never walked, only probed). */
  fds: number;
  /** The last sample in which it got a socket this cache did not know. */
  lastNew: number;
  /** Same-sample walks of it in a row that found nothing, and the sample before which it is not walked so again. */
  misses: number;
  skipUntil: number;
}

/** Samples a freed fd slot stays worth probing (a new socket may take a while to reach the state). */
const SLOT_TTL = 5;
/** Probes per sample at most (each is one readlinkat, about 4 us). */
const MAX_PROBES = 4096;
/** Processes that got new sockets within this many samples are walked first. */
const RECENT = 10;
/**
 * Fds the recent owners may have for a same-sample walk: reading an fd link
 * costs about 5x dumping a socket, so rows / 100 keeps the walk near a
 * twentieth of the dump; at least this many (about 4 ms) on a small host. A
 * process walked so in vain is left out for 2, 4, ... 32 samples.
 */
const MIN_WALK_BUDGET = 1024;
const MAX_BACKOFF = 32;
/** What each sample pays towards the last wide walk: a share of its dump's time, at least a floor. */
const WIDE_WALK_SHARE = 0.1;
const WIDE_WALK_FLOOR_MS = 25;

const LE = endianness() === 'LE';
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;
// A slot (pid, fd) as one number: pids are below 2^22 (PID_MAX_LIMIT), fds below 2^31.
const slotKey = (pid: number, fd: number) => pid * 2147483648 + fd;

const cookieWords = (t: RawTable) => new Uint32Array(t.cookie.buffer, t.cookie.byteOffset, t.size * 2);

export class OwnerCache {
  private entries = new Map<number, Entry>();
  private procs = new Map<number, Proc>();
  /** Freed fd slots (slotKey) -> the sample that freed them, oldest first. */
  private slots = new Map<number, number>();
  private lastFull = 0;
  private unreadable = 0;
  private shared = 0;
  private source: OwnerSource | undefined;
  private fallback: string | null = null;
  /** Milliseconds of wide walking not yet paid for by later samples. */
  private walkDebt = 0;

  private readonly lookups: OwnerLookups;

  constructor(
    private readonly opts: OwnerCacheOptions,
    lookups?: OwnerLookups,
  ) {
    this.lookups = lookups ?? runnerLookups();
  }

  private isFull(seq: number): boolean {
    const whole = this.source !== undefined && OWNER_SOURCE[this.source].wholeEveryTime;
    return whole || this.lastFull === 0 || seq - this.lastFull >= this.opts.fullEvery;
  }

  /**
   * Whether the next sample's owners should come with its dump: a source
   * that answers whole every time (the eBPF iterator) answered the last full
   * attribution (under 'auto' or 'bpf').
   */
  joinsInDump(): boolean {
    return this.source !== undefined && OWNER_SOURCE[this.source].wholeEveryTime;
  }

  /** Owners of the given rows from a dump that carried them (dumpRowsWithOwners). */
  fromDump(t: RawSampleResult, rows: Uint32Array, seq: number): OwnedRows {
    const o = t.owners!;
    // Nothing to carry to the next sample: what a walk would use stays empty.
    this.restart(o, seq);
    // The iterator failed and the walk answered instead ('auto'): the cache
    // is empty, so the next sample must be a full attribution, not an
    // incremental one that would find nothing known.
    if (!OWNER_SOURCE[o.source].wholeEveryTime) this.lastFull = 0;
    return this.result(
      o.owner,
      rows,
      {
        source: o.source,
        fallback: o.fallback,
        full: true,
        cached: 0,
        lookedUp: o.wanted,
        probed: 0,
        walkedProcesses: o.walked,
        pending: 0,
        lookupMs: 0,
      },
      o.processes,
    );
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
    const starts = await this.lookups.startTimes(pids, this.opts.procRoot);
    pids.forEach((pid, k) => {
      if (starts[k] === 0 || starts[k] !== this.procs.get(pid)?.start) gone.add(pid);
    });
    return gone;
  }

  /**
   * Owners of the given rows of a table, in sample number seq (1, 2, ...);
   * gone from validate(seq); dumpMs what the table's dump took and dumped
   * how many sockets it saw (kept as rows or not): what a cheap walk is
   * measured against.
   */
  async attribute(t: RawTable, rows: Uint32Array, seq: number, gone: Set<number>, dumpMs: number, dumped: number): Promise<OwnedRows> {
    const t0 = performance.now();
    this.walkDebt = Math.max(0, this.walkDebt - Math.max(WIDE_WALK_FLOOR_MS, WIDE_WALK_SHARE * dumpMs));
    const r = this.isFull(seq) ? await this.fullRun(t, rows, seq) : await this.incremental(t, rows, seq, gone, dumped);
    r.stats.lookupMs = Math.round((performance.now() - t0) * 10) / 10;
    return r;
  }

  /** After a full attribution (sample seq): its source and figures, and nothing remembered yet. */
  private restart(o: RawOwners, seq: number): void {
    this.source = o.source;
    this.fallback = o.fallback;
    this.lastFull = seq;
    this.unreadable = o.unreadable;
    this.shared = o.shared;
    this.entries = new Map();
    this.slots = new Map();
    this.procs = new Map();
  }

  private walkOptions() {
    const o: { threads: number; procRoot?: string; ownerSource: string } = { threads: this.opts.threads, ownerSource: this.opts.ownerSource };
    if (this.opts.procRoot !== undefined) o.procRoot = this.opts.procRoot;
    return o;
  }

  private remember(words: Uint32Array, i: number, inode: number, pid: number, fd: number, seq: number, pendingSince: number): void {
    this.entries.set(inode, { cookieLo: words[2 * i + LO]!, cookieHi: words[2 * i + HI]!, pid, fd, seen: seq, pendingSince, ownersTried: false });
  }

  private async fullRun(t: RawTable, rows: Uint32Array, seq: number): Promise<OwnedRows> {
    const words = cookieWords(t);
    const inodes = new Uint32Array(rows.length);
    for (let j = 0; j < rows.length; j++) inodes[j] = t.inode[rows[j]!]!;
    const found = await this.lookups.findOwners({ ...this.walkOptions(), inodes, claims: true });
    this.restart(found, seq);
    // Every owner counts as recent after a full attribution: a leaking one is
    // then walked (if cheap) for its next new sockets at once.
    this.learnProcesses(found, seq, true);
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
      this.remember(words, i, inodes[j]!, pid, pid ? (fdOf.get(inodes[j]!) ?? -1) : -1, seq, 0);
    }
    return this.result(
      owner,
      rows,
      {
        source: found.source,
        fallback: found.fallback,
        full: true,
        cached: 0,
        lookedUp: found.wanted,
        probed: 0,
        walkedProcesses: found.walked,
        pending: 0,
        lookupMs: 0,
      },
      found.processes,
    );
  }

  private async incremental(t: RawTable, rows: Uint32Array, seq: number, gone: Set<number>, dumped: number): Promise<OwnedRows> {
    const words = cookieWords(t);
    for (const pid of gone) this.procs.delete(pid);

    const owner = new Int32Array(t.size);
    const unknown: number[] = []; // indices into rows
    let cached = 0;
    let seen = 0;
    const inode = t.inode;
    const anyGone = gone.size > 0;
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j]!;
      const ino = inode[i]!;
      if (ino === 0) continue;
      const e = this.entries.get(ino);
      if (e !== undefined && e.cookieLo === words[2 * i + LO] && e.cookieHi === words[2 * i + HI]) {
        e.seen = seq;
        seen++;
        if (e.pid > 0 && !(anyGone && gone.has(e.pid))) {
          owner[i] = e.pid;
          cached++;
          continue;
        }
        if (e.pid === 0 && e.pendingSince === 0) continue; // not found anywhere: wait for the next full run
      }
      unknown.push(j);
    }
    // Sockets that left free their fd slots (their owner may reuse them).
    if (seen < this.entries.size) {
      this.entries.forEach((e, key) => {
        if (e.seen === seq) return;
        this.entries.delete(key);
        if (e.pid > 0 && e.fd >= 0 && !gone.has(e.pid)) {
          const k = slotKey(e.pid, e.fd);
          this.slots.delete(k); // re-inserted last: the slots stay oldest first
          this.slots.set(k, seq);
        }
      });
    }
    this.slots.forEach((freed, k) => {
      if (seq - freed > SLOT_TTL || gone.has(Math.floor(k / 2147483648))) this.slots.delete(k);
    });

    const stats: AttributionStats = {
      source: this.source ?? 'proc',
      fallback: this.fallback,
      full: false,
      cached,
      lookedUp: unknown.length,
      probed: 0,
      walkedProcesses: 0,
      pending: 0,
      lookupMs: 0,
    };
    const found: RawProcess[] = [];
    // 1. Every socket not known: the freed fd slots, one readlinkat each.
    let left = unknown.length && this.slots.size ? await this.lookUp(t, words, rows, unknown, owner, seq, stats, found, 'probe') : unknown;
    // 2. The recent owners that are cheap to walk, in this sample.
    if (left.length > 0) {
      const cheap = this.cheapRecent(seq, Math.max(MIN_WALK_BUDGET, Math.floor(dumped / 100)));
      if (cheap.length > 0) {
        const before = found.length;
        left = await this.lookUp(t, words, rows, left, owner, seq, stats, found, 'recent', cheap);
        // Not all found: every one of them was read to the end; those that
        // held none of the new sockets sit out the next few samples.
        if (left.length > 0) {
          const hit = new Set(found.slice(before).map((p) => p.pid));
          for (const pid of cheap) {
            const p = this.procs.get(pid);
            if (!p) continue;
            p.misses = hit.has(pid) ? 0 : p.misses + 1;
            if (p.misses > 0) p.skipUntil = seq + Math.min(MAX_BACKOFF, 2 ** p.misses);
          }
        }
      }
    }
    // 3. Those also missing at the last sample (paced, one walk a sample):
    //    first among every known owner, recent ones first; those not there
    //    either, in every process.
    const pendingEntry = (j: number) => {
      const i = rows[j]!;
      const e = this.entries.get(inode[i]!);
      return e !== undefined && e.pid === 0 && e.cookieLo === words[2 * i + LO] && e.cookieHi === words[2 * i + HI] ? e : undefined;
    };
    const stale = left.filter((j) => {
      const e = pendingEntry(j);
      return e !== undefined && e.pendingSince > 0 && e.pendingSince < seq;
    });
    const staleSet = new Set(stale);
    let walkedAll = false;
    if (stale.length > 0 && this.walkDebt === 0) {
      const untried = this.procs.size > 0 ? stale.filter((j) => !pendingEntry(j)!.ownersTried) : [];
      const w0 = performance.now();
      if (untried.length > 0) {
        await this.lookUp(t, words, rows, untried, owner, seq, stats, found, 'owners');
        for (const j of untried) {
          const e = pendingEntry(j); // still pending: not with a known owner
          if (e) e.ownersTried = true;
        }
      } else {
        await this.lookUp(t, words, rows, stale, owner, seq, stats, found, 'walk');
        walkedAll = true;
      }
      this.walkDebt += performance.now() - w0;
      left = left.filter((j) => owner[rows[j]!] === 0);
    }
    // 4. What is left: new ones are pending, to be walked for at a later
    //    sample if still there; those walked for in every process in vain
    //    wait for the next full attribution.
    for (const j of left) {
      const i = rows[j]!;
      const e = pendingEntry(j);
      const since = e ? e.pendingSince : 0;
      if (since > 0 && since < seq) {
        if (walkedAll && staleSet.has(j)) e!.pendingSince = 0;
        else stats.pending++;
      } else {
        this.remember(words, i, inode[i]!, 0, -1, seq, seq);
        stats.pending++;
      }
    }
    return this.result(owner, rows, stats, found);
  }

  /** Pids of the recent owners, most recent first, whose last known fd counts add up to at most budget. */
  private cheapRecent(seq: number, budget: number): number[] {
    const out: number[] = [];
    let fds = 0;
    for (const [pid, p] of [...this.procs.entries()].sort((a, b) => b[1].lastNew - a[1].lastNew || a[0] - b[0])) {
      if (seq - p.lastNew > RECENT) break;
      if (p.fds === 0 || seq < p.skipUntil || fds + p.fds > budget) continue;
      fds += p.fds;
      out.push(pid);
    }
    return out;
  }

  /**
   * Looks up the owners of rows[j] for j in `which`: in the freed fd slots
   * only ('probe'), walking the given processes only ('recent'), every
   * known owner, recent ones first ('owners'), or every process, recent
   * owners first ('walk'). Records what it finds; returns the j still
   * without an owner.
   */
  private async lookUp(
    t: RawTable,
    words: Uint32Array,
    rows: Uint32Array,
    which: number[],
    owner: Int32Array,
    seq: number,
    stats: AttributionStats,
    seen: RawProcess[],
    how: 'probe' | 'recent' | 'owners' | 'walk',
    only: number[] = [],
  ): Promise<number[]> {
    const inodes = Uint32Array.from(which, (j) => t.inode[rows[j]!]!);
    let found: RawFound;
    if (how === 'probe') {
      const keys = [...this.slots.keys()].slice(-MAX_PROBES);
      const probes = new Int32Array(keys.length * 2);
      keys.forEach((k, n) => {
        probes[2 * n] = Math.floor(k / 2147483648);
        probes[2 * n + 1] = k % 2147483648;
      });
      found = await this.lookups.findOwners({ ...this.walkOptions(), inodes, claims: true, probes, probesOnly: true });
    } else if (how === 'recent') {
      const pids = Int32Array.from(only);
      found = await this.lookups.findOwners({ ...this.walkOptions(), inodes, claims: true, pids, firstPids: pids });
    } else {
      const byRecency = [...this.procs.entries()].sort((a, b) => b[1].lastNew - a[1].lastNew || a[0] - b[0]);
      if (how === 'owners') {
        const pids = Int32Array.from(byRecency, ([pid]) => pid);
        found = await this.lookups.findOwners({ ...this.walkOptions(), inodes, claims: true, pids, firstPids: pids });
      } else {
        const recent = Int32Array.from(
          byRecency.filter(([, p]) => seq - p.lastNew <= RECENT),
          ([pid]) => pid,
        );
        found = await this.lookups.findOwners({ ...this.walkOptions(), inodes, claims: true, firstPids: recent });
        // A walk that stopped early saw only some of the unreadable processes.
        if (found.complete) this.unreadable = found.unreadable;
      }
    }
    stats.walkedProcesses += found.walked;
    this.learnProcesses(found, seq, true);
    const fdOf = claimedFds(found, inodes);
    const left: number[] = [];
    which.forEach((j, k) => {
      const i = rows[j]!;
      const pid = found.owner[k]!;
      if (pid === 0) {
        left.push(j);
        return;
      }
      owner[i] = pid;
      const fd = fdOf.get(inodes[k]!) ?? -1;
      if (fd >= 0 && this.slots.delete(slotKey(pid, fd)) && how === 'probe') stats.probed++;
      // Remembered only while the process is known (its start time was read).
      if (this.procs.has(pid)) this.remember(words, i, inodes[k]!, pid, fd, seq, 0);
      else this.entries.delete(inodes[k]!);
    });
    seen.push(...found.processes);
    return left;
  }

  private learnProcesses(found: RawFound, seq: number, isNew: boolean): void {
    for (const p of found.processes) {
      if (p.startTime === 0) continue; // exited while being read
      const known = this.procs.get(p.pid);
      const same = known !== undefined && known.start === p.startTime;
      this.procs.set(p.pid, {
        start: p.startTime,
        comm: p.comm,
        cmdline: p.cmdline,
        fds: p.fds > 0 ? p.fds : same ? known.fds : 0,
        lastNew: isNew ? seq : same ? known.lastNew : -Infinity,
        misses: same ? known.misses : 0,
        skipUntil: same ? known.skipUntil : 0,
      });
    }
  }

  private result(owner: Int32Array, rows: Uint32Array, stats: AttributionStats, seen: RawProcess[]): OwnedRows {
    const counts = new Map<number, number>();
    let last = 0;
    let run = 0;
    // Rows of one owner tend to come together: count runs, not rows.
    for (let j = 0; j < rows.length; j++) {
      const pid = owner[rows[j]!]!;
      if (pid === last) {
        run++;
        continue;
      }
      if (last !== 0) counts.set(last, (counts.get(last) ?? 0) + run);
      last = pid;
      run = 1;
    }
    if (last !== 0) counts.set(last, (counts.get(last) ?? 0) + run);
    const processes = new Map<number, RawProcess>();
    // Names from this sample's look-ups for processes it could not keep.
    const fresh = new Map(seen.map((p) => [p.pid, p]));
    for (const [pid, sockets] of counts) {
      const known = this.procs.get(pid);
      const f = fresh.get(pid);
      processes.set(pid, {
        pid,
        comm: known?.comm ?? f?.comm ?? '',
        cmdline: known?.cmdline ?? f?.cmdline ?? '',
        sockets,
        startTime: known?.start ?? f?.startTime ?? 0,
        fds: known?.fds ?? f?.fds ?? 0,
      });
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
