#!/usr/bin/env node
// farm.js: builds a socket farm on loopback for the benchmarks: hundreds of
// thousands of TCP sockets in known states, held by known processes, among a
// crowd of idle processes, so a /proc walk meets a realistic process table.
//
//   const { startFarm } = require('./harness/farm');
//   const farm = await startFarm({ sockets: 200000, idle: 400, listen: 300, timeWait: 2000 });
//   farm.truth   // { closeWaitByPid, commandByPid, established, finWait2, timeWait, listen, total }
//   await farm.makeTimeWait(5000);   // right before a measurement: TIME_WAIT lives 60 s
//   await farm.churn(0.02);          // each holder replaces 2% of its sockets a second (0 stops)
//   await farm.stop();
//
//   node harness/farm.js --sockets 200000 [--idle 400] [--listen 300] [--time-wait 0] [--hold]
//
// What it makes, of `sockets` (TIME_WAIT is extra, see below):
//   LISTEN       `listen` listeners on 127.0.0.1..127.0.0.20, random ports.
//   ESTABLISHED  ~40% of the rest: connected pairs, both ends held (each end counts).
//   CLOSE_WAIT   ~30%: client ends whose peer shut down its write side; held by
//                'cw' holders titled farm-cw-01, farm-cw-02, ... with strictly
//                decreasing Zipf-like counts (farm-cw-01 holds the most), so the
//                top-N by CLOSE_WAIT has one right order.
//   FIN_WAIT2    ~30%, one per CLOSE_WAIT: the peer ends, which called
//                shutdown(SHUT_WR) and stay *open*. Owned FIN_WAIT2 never times
//                out (tcp_fin_timeout, 60 s, only reaps orphans), so the counts
//                hold for as long as a bench runs. Held by 'peer' holders
//                (farm-peer-01, ...), which also hold the ESTABLISHED pairs and
//                the listeners.
//   TIME_WAIT    made last, on demand (`timeWait` option, `makeTimeWait(n)`):
//                each lives 60 s, so make them right before measuring. The
//                kernel keeps at most net.ipv4.tcp_max_tw_buckets of them
//                (for everyone on the host); beyond that it destroys new ones.
// The open-file limit is 20,000 per process, so every holder keeps at most
// 17,500 sockets and the farm runs as many holders as that takes.
//
// Ephemeral ports: every client connects from 127.0.0.1 with a kernel-chosen
// port, and a port can be reused towards any other destination ip:port, so
// the ~28k-port range (net.ipv4.ip_local_port_range) limits connections per
// destination only. Each holder gets its own listeners (<= 12,000
// connections each, on 127.0.0.1..20 and random ports), and TIME_WAIT goes
// to fresh listeners on fresh addresses (127.64.0.1 onwards, 250 each), so a
// connect() never takes over one of our TIME_WAITs (tcp_tw_reuse=2 allows
// that on loopback after 1 s). No sysctl is changed. Nothing is sent
// anywhere but 127.0.0.0/8.
//
// Teardown: stop() closes each child's stdin; holders then reset every
// connection (SO_LINGER 0, RST) and exit, so no TIME_WAIT, LAST_ACK or
// orphan is left behind; idle processes (subshells reading that pipe) exit
// on EOF. If 10 s pass with no child exiting, the rest get SIGKILL. The
// same happens when this process exits or gets SIGINT, SIGTERM or SIGHUP
// (the children run in their own process groups, so a Ctrl-C reaches only
// this process, which then tears down in order), and the children also exit
// on their own if this process dies, since their stdin then closes.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const HOLDER = path.join(__dirname, 'farm-holder.js');
const PER_HOLDER = 17500; // sockets per holder; the fd limit is 20,000
const PER_LISTENER = 12000; // connections per destination ip:port (the port range is ~28k)
const HOSTS = 20; // listeners on 127.0.0.1 .. 127.0.0.20
const TW_CHUNK = 250; // TIME_WAIT per fresh listener (and address), made in one burst
const SETTLE_MS = 300; // the FIN's ACK is a delayed ACK (<= 200 ms): FIN_WAIT1 -> FIN_WAIT2
const STOP_GRACE_MS = 10000; // with no child exiting, before SIGKILL
const DEFAULTS = { sockets: 200000, idle: 400, listen: 300, timeWait: 0, window: 256 };

// --- the plan ----------------------------------------------------------------

/** Splits total into n near-equal integer parts (larger first). */
function split(total, n) {
  const base = Math.floor(total / n);
  const extra = total - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * `total` split into K strictly decreasing positive counts, each <= cap,
 * Zipf-like (weight 1/(i+1)^s, s <= 1, flattened only as far as the cap needs).
 */
function skewedCounts(total, minK, cap) {
  if (total <= 0) return [];
  let K = Math.max(minK, Math.ceil(total / (cap * 0.6)));
  while (K > 1 && (K * (K + 1)) / 2 > total) K--; // K distinct positive counts must fit
  const top = (s) => {
    let h = 0;
    for (let i = 0; i < K; i++) h += 1 / Math.pow(i + 1, s);
    return total / h;
  };
  let s = 1;
  if (top(1) > cap) {
    let lo = 0;
    let hi = 1;
    for (let it = 0; it < 50; it++) {
      const mid = (lo + hi) / 2;
      if (top(mid) > cap) hi = mid;
      else lo = mid;
    }
    s = lo;
  }
  const w = Array.from({ length: K }, (_, i) => 1 / Math.pow(i + 1, s));
  const W = w.reduce((a, b) => a + b, 0);
  const exact = w.map((x) => (total * x) / W);
  const c = exact.map(Math.floor);
  let left = total - c.reduce((a, b) => a + b, 0);
  const byFrac = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  for (let j = 0; left > 0; j++, left--) c[byFrac[j % K][1]]++;
  // Strictly decreasing, >= 1: lift ties from the bottom up...
  if (c[K - 1] < 1) c[K - 1] = 1;
  for (let i = K - 2; i >= 0; i--) if (c[i] <= c[i + 1]) c[i] = c[i + 1] + 1;
  // ...then give the excess back from whoever has slack, largest first.
  let excess = c.reduce((a, b) => a + b, 0) - total;
  while (excess > 0) {
    let moved = false;
    for (let i = 0; i < K && excess > 0; i++) {
      const floor = i === K - 1 ? 1 : c[i + 1] + 1;
      const take = Math.min(c[i] - floor, excess);
      if (take > 0) {
        c[i] -= take;
        excess -= take;
        moved = true;
      }
    }
    if (!moved) throw new Error(`cannot split ${total} into ${K} distinct counts`);
  }
  if (c[0] > cap) throw new Error(`top CLOSE_WAIT count ${c[0]} over the per-holder cap ${cap}`);
  return c;
}

function plan({ sockets, listen }) {
  if (!Number.isInteger(sockets) || sockets < 1) throw new RangeError('sockets: a positive integer');
  if (!Number.isInteger(listen) || listen < 0) throw new RangeError('listen: a non-negative integer');
  const body = Math.max(0, sockets - listen);
  const cw = Math.floor(body * 0.3);
  const pairs = Math.floor((body - 2 * cw) / 2);
  // Peers hold the FIN_WAIT2 ends, both ends of every pair and the listeners.
  const peerSockets = cw + 2 * pairs + listen;
  const P = Math.max(1, Math.ceil(peerSockets / (PER_HOLDER - 64)));
  const fin = split(cw, P);
  const pr = split(pairs, P);
  const lis = split(listen, P);
  let hostIx = 0;
  const peers = [];
  for (let j = 0; j < P; j++) {
    // Enough listeners that no destination ip:port gets over PER_LISTENER.
    const nFin = fin[j] ? Math.max(1, Math.ceil(fin[j] / PER_LISTENER)) : 0;
    const nEst = pr[j] ? Math.max(1, Math.ceil(pr[j] / PER_LISTENER)) : 0;
    const n = Math.max(lis[j], nFin + nEst);
    const listeners = [];
    // Alternate roles while both still need one, the rest to whichever has connections.
    let f = 0;
    let e = 0;
    for (let k = 0; k < n; k++) {
      let role;
      if (f < nFin && (e >= nEst || k % 2 === 0)) role = 'fin';
      else if (e < nEst) role = 'estab';
      else role = fin[j] >= pr[j] ? 'fin' : 'estab';
      if (role === 'fin') f++;
      else e++;
      listeners.push({ host: `127.0.0.${1 + (hostIx++ % HOSTS)}`, role });
    }
    peers.push({ title: `farm-peer-${String(j + 1).padStart(2, '0')}`, role: 'peer', fin: fin[j], pairs: pr[j], listeners });
  }
  const cwCounts = skewedCounts(cw, 10, PER_HOLDER);
  const width = Math.max(2, String(cwCounts.length).length);
  const cws = cwCounts.map((n, i) => ({ title: `farm-cw-${String(i + 1).padStart(width, '0')}`, role: 'cw', n, segments: [] }));
  // Fill the peers' 'fin' quotas in order with the cw holders' connections.
  let j = 0;
  let room = peers.length ? peers[0].fin : 0;
  for (const h of cws) {
    let need = h.n;
    while (need > 0) {
      while (room === 0) room = peers[++j].fin;
      const take = Math.min(need, room);
      h.segments.push({ peer: j, n: take });
      need -= take;
      room -= take;
    }
  }
  return { peers, cws, listen: peers.reduce((a, p) => a + p.listeners.length, 0) };
}

/**
 * The g-th TIME_WAIT destination address: 127.64.0.1 onwards, away from the
 * listeners (127.0.0.x), one address per chunk, so no destination ever
 * holds an old TIME_WAIT of ours (see farm-holder.js). 4M of them.
 */
function twHost(g) {
  g %= 4161536; // 64 * 65024
  return `127.${64 + (Math.floor(g / 65024) % 64)}.${Math.floor(g / 254) % 256}.${1 + (g % 254)}`;
}

// --- processes ---------------------------------------------------------------

const liveFarms = new Set();
let hooksInstalled = false;

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort, synchronous: signal whatever is left (the closed stdin pipes
  // would make them exit anyway once we are gone).
  process.on('exit', () => {
    for (const farm of liveFarms) farm._killNow('SIGTERM');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const handler = () => {
      Promise.allSettled([...liveFarms].map((f) => f.stop())).finally(() => {
        process.removeListener(sig, handler);
        // Nobody else handles it: die of the signal as we would have.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    };
    process.on(sig, handler);
  }
}

class Farm {
  constructor(opts) {
    this.opts = opts;
    this.children = new Set(); // every ChildProcess not yet reaped
    this.holders = []; // {pid, title, role, counts} (+ non-enumerable child)
    this.idle = []; // pids of the idle processes (children of the idle shell)
    this._idleShell = null;
    this.truth = null;
    this._twBatches = []; // {n, at}
    this._twId = 0;
    // Next TIME_WAIT destination (see twHost); a random start keeps farms
    // run one after the other (within 60 s) off each other's addresses.
    this._twHosts = Math.floor(Math.random() * 4000000);
    this._twPending = new Map();
    this._churnAck = new Map(); // holder pid -> resolve, for churn()
    this._stopping = null;
    this._tmp = null;
  }

  /** Every process the farm started: holders, the idle shell, idle processes. */
  get pids() {
    return [...this.holders.map((h) => h.pid), ...(this._idleShell ? [this._idleShell.pid] : []), ...this.idle];
  }

  _progress(ev) {
    if (this.opts.onProgress) {
      try {
        this.opts.onProgress(ev);
      } catch {
        /* a caller's bug must not break the farm */
      }
    }
  }

  _track(child) {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.on('error', () => {}); // reported through 'exit'
    if (child.stdin) child.stdin.on('error', () => {});
  }

  _spawnHolder(cfg, handlers) {
    const child = spawn(process.execPath, [HOLDER, JSON.stringify({ ...cfg, window: this.opts.window })], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // Ctrl-C reaches only us; we stop the holders in order
    });
    this._track(child);
    const rec = { pid: child.pid, title: cfg.title, role: cfg.role, counts: null };
    // Not enumerable: farm.holders stays printable as JSON.
    Object.defineProperty(rec, 'child', { value: child });
    Object.defineProperty(rec, 'stderr', { value: '', writable: true });
    child.stderr.on('data', (d) => {
      rec.stderr = (rec.stderr + d).slice(-4000);
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.ev === 'timewait') {
        const p = this._twPending.get(msg.id);
        if (p) p.got(msg.made);
      } else if (msg.ev === 'churn') {
        const ack = this._churnAck.get(rec.pid);
        this._churnAck.delete(rec.pid);
        if (ack) ack();
      } else if (msg.ev === 'error') {
        handlers.fail(new Error(`${cfg.title} (pid ${rec.pid}): ${msg.message}`));
      } else {
        handlers.message(rec, msg);
      }
    });
    child.once('exit', (code, signal) => {
      if (!this._stopping) {
        const err = new Error(`${cfg.title} (pid ${rec.pid}) exited (${signal || code})\n${rec.stderr}`);
        handlers.fail(err);
        for (const p of this._twPending.values()) p.fail(err);
      }
    });
    this.holders.push(rec);
    return rec;
  }

  /**
   * Starts `n` idle processes: one `sh` forks them (a fork of dash, no exec:
   * far cheaper than a spawn from node, which costs 10+ ms a process on
   * this kind of VM). Each is a subshell with its own fd table (0: the pipe
   * from us, 1-2: /dev/null, 3: /dev/null, 4: a temp file) blocked in
   * `read` until that pipe reaches EOF: when we close it or die. The sh
   * prints each pid, then waits for them all, so it reaps them.
   */
  _spawnIdle(n, onPid) {
    const script = [
      'n=$1; i=0',
      'exec 5<&0',
      'while [ "$i" -lt "$n" ]; do',
      '  ( exec 0<&5 1>/dev/null 5<&-; read _ ) &',
      '  echo $!',
      '  i=$((i+1))',
      'done',
      'exec 5<&- 1>/dev/null',
      'wait',
    ].join('\n');
    // The script goes in the environment, so ps shows a short command line.
    const child = spawn('sh', ['-c', 'eval "$FARM_IDLE_SCRIPT"', 'farm-idle', String(n)], {
      env: { ...process.env, FARM_IDLE_SCRIPT: script },
      stdio: ['pipe', 'pipe', 'ignore', this._nullFd, this._tmpFd],
      detached: true, // Ctrl-C reaches only us; we end them through the pipe
    });
    this._track(child);
    this._idleShell = child;
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const pid = Number(line);
      if (pid > 0) {
        this.idle.push(pid);
        onPid();
      }
    });
    return child;
  }

  async _build() {
    const o = this.opts;
    const p = plan(o);
    const t0 = Date.now();
    const totalSockets = p.cws.reduce((a, h) => a + 2 * h.n, 0) + p.peers.reduce((a, x) => a + 2 * x.pairs, 0);
    let made = 0;

    this._tmp = path.join(os.tmpdir(), `tcpcensus-farm-${process.pid}-${Date.now()}.tmp`);
    this._tmpFd = fs.openSync(this._tmp, 'w+');
    fs.writeSync(this._tmpFd, 'tcpcensus farm idle process file\n');
    this._nullFd = fs.openSync('/dev/null', 'r');

    let fail;
    const failed = new Promise((_, reject) => {
      fail = reject;
    });
    failed.catch(() => {});
    const peerListening = new Map(); // peer index -> [{host, port, role}]
    let onListening;
    const allListening = new Promise((resolve) => {
      onListening = resolve;
    });
    const ready = new Map(); // pid -> counts
    let onReady;
    const allReady = new Promise((resolve) => {
      onReady = resolve;
    });
    const nHolders = p.peers.length + p.cws.length;
    const handlers = (kind, index) => ({
      fail,
      message: (rec, msg) => {
        if (msg.ev === 'listening') {
          peerListening.set(index, msg.listeners);
          this._progress({ phase: 'listen', done: peerListening.size, total: p.peers.length });
          if (peerListening.size === p.peers.length) onListening();
        } else if (msg.ev === 'progress') {
          made += msg.n;
          this._progress({ phase: 'connect', done: made, total: totalSockets });
        } else if (msg.ev === 'ready') {
          rec.counts = msg.counts;
          ready.set(rec.pid, msg.counts);
          this._progress({ phase: 'ready', done: ready.size, total: nHolders });
          if (ready.size === nHolders) onReady();
        }
      },
    });

    // A cw holder gets its targets once it runs and every peer listens.
    let listening = false;
    const sendTargets = (h) => {
      if (!listening || !h.rec || h.sent) return;
      h.sent = true;
      const targets = [];
      for (const seg of h.segments) {
        const fins = peerListening.get(seg.peer).filter((l) => l.role === 'fin');
        split(seg.n, Math.min(fins.length, seg.n)).forEach((n, k) => {
          if (n > 0) targets.push({ host: fins[k].host, port: fins[k].port, n });
        });
      }
      h.rec.child.stdin.write(JSON.stringify({ cmd: 'targets', targets }) + '\n');
    };
    allListening.then(() => {
      listening = true;
      p.cws.forEach(sendTargets);
    });

    // Spawn the holders paced by the idle processes, peers and cw holders
    // mixed, so their pids are spread through the crowd as in a real process
    // table (a /proc walk that stops once every owner is found must not find
    // them all at the start).
    const peerSpawners = p.peers.map(
      (x, i) => () => this._spawnHolder({ title: x.title, role: 'peer', fin: x.fin, pairs: x.pairs, listeners: x.listeners }, handlers('peer', i)),
    );
    const cwSpawners = p.cws.map((x, i) => () => {
      x.rec = this._spawnHolder({ title: x.title, role: 'cw' }, handlers('cw', i));
      sendTargets(x);
    });
    const spawners = [];
    for (let a = 0, b = 0; a < peerSpawners.length || b < cwSpawners.length;) {
      // Keep the peers a little ahead: the cw holders connect to them.
      if (b >= cwSpawners.length || (a < peerSpawners.length && a * cwSpawners.length <= (b + 1) * peerSpawners.length))
        spawners.push(peerSpawners[a++]);
      else spawners.push(cwSpawners[b++]);
    }
    const H = spawners.length;
    const nIdle = o.idle;
    let hi = 0;
    let wake = null;
    const idleDone = new Promise((resolve) => {
      if (nIdle === 0) {
        resolve();
        return;
      }
      this._spawnIdle(nIdle, () => {
        if (wake) {
          const w = wake;
          wake = null;
          w();
        }
        if (this.idle.length % 64 === 0 || this.idle.length === nIdle) {
          this._progress({ phase: 'spawn-idle', done: this.idle.length, total: nIdle });
        }
        if (this.idle.length === nIdle) resolve();
      });
      this._idleShell.once('exit', () => {
        if (this.idle.length < nIdle && !this._stopping) fail(new Error('the idle-process shell exited early'));
      });
    });
    while (hi < H) {
      // Holder k goes once k/H of the idle processes exist.
      if (this.idle.length >= Math.floor((hi * nIdle) / H)) {
        spawners[hi++]();
        this._progress({ phase: 'spawn', done: hi, total: H });
        await new Promise((r) => setImmediate(r)); // let messages in between spawns
      } else {
        await Promise.race([
          new Promise((r) => {
            wake = r;
          }),
          failed,
        ]);
      }
    }
    await Promise.race([idleDone, failed]);
    fs.closeSync(this._nullFd);
    fs.closeSync(this._tmpFd);
    this._nullFd = this._tmpFd = null;
    fs.unlinkSync(this._tmp); // the idle processes keep it open, as "(deleted)"
    this._tmp = null;

    await Promise.race([allReady, failed]);
    // The CLOSE_WAIT side ACKs the FIN late (delayed ACK): let FIN_WAIT1 settle.
    await new Promise((r) => setTimeout(r, SETTLE_MS));

    const truth = {
      closeWaitByPid: {},
      commandByPid: {},
      established: 0,
      finWait2: 0,
      timeWait: 0,
      listen: 0,
      total: 0,
    };
    for (const h of this.holders) {
      truth.commandByPid[h.pid] = h.title;
      if (h.counts.closeWait) truth.closeWaitByPid[h.pid] = h.counts.closeWait;
      truth.established += h.counts.established;
      truth.finWait2 += h.counts.finWait2;
      truth.listen += h.counts.listen;
    }
    this.truth = truth;
    this._recount();
    this.buildMs = Date.now() - t0;
    if (o.timeWait > 0) await this.makeTimeWait(o.timeWait);
  }

  _recount() {
    const t = this.truth;
    const now = Date.now();
    this._twBatches = this._twBatches.filter((b) => now - b.at < 60000);
    t.timeWait = this._twBatches.reduce((a, b) => a + b.n, 0);
    const cw = Object.values(t.closeWaitByPid).reduce((a, b) => a + b, 0);
    t.total = cw + t.established + t.finWait2 + t.listen + t.timeWait;
  }

  /**
   * Makes n TIME_WAIT sockets now (the peers connect to fresh listeners of
   * their own, on fresh 127.64+.x.y addresses, and close first). They live
   * 60 s: truth.timeWait counts the batches made in the last 60 s. Resolves
   * with the updated truth.
   */
  async makeTimeWait(n) {
    if (!this.truth || this._stopping) throw new Error('the farm is not running');
    if (!Number.isInteger(n) || n < 0) throw new RangeError('makeTimeWait(n): a non-negative integer');
    let max = Infinity;
    try {
      max = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_max_tw_buckets', 'utf8'));
    } catch {
      /* keep Infinity */
    }
    if (n > max) throw new RangeError(`makeTimeWait(${n}): over net.ipv4.tcp_max_tw_buckets (${max})`);
    if (n === 0) return this.truth;
    const peers = this.holders.filter((h) => h.role === 'peer');
    const parts = split(n, Math.min(peers.length, Math.ceil(n / TW_CHUNK)));
    const jobs = parts.map(
      (k, i) =>
        new Promise((resolve, reject) => {
          const id = ++this._twId;
          this._twPending.set(id, {
            got: (m) => {
              this._twPending.delete(id);
              resolve(m);
            },
            fail: (err) => {
              this._twPending.delete(id);
              reject(err);
            },
          });
          const hosts = [];
          for (let c = 0; c < Math.ceil(k / TW_CHUNK); c++) hosts.push(twHost(this._twHosts++));
          peers[i].child.stdin.write(JSON.stringify({ cmd: 'timewait', id, n: k, chunk: TW_CHUNK, hosts }) + '\n');
        }),
    );
    const made = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    this._twBatches.push({ n: made, at: Date.now() });
    this._recount();
    this._progress({ phase: 'timewait', done: made, total: n });
    return this.truth;
  }

  /**
   * Every holder replaces `fraction` of its sockets every second from now on
   * (0 stops): 'cw' holders their CLOSE_WAIT (and with them their peers'
   * FIN_WAIT2), peers their ESTABLISHED pairs. The counts stay as they were,
   * give or take the replacements in flight. Resolves once every holder
   * has started.
   */
  async churn(fraction, tickMs = 100) {
    if (!this.truth || this._stopping) throw new Error('the farm is not running');
    const started = this.holders.map((h) => new Promise((resolve) => this._churnAck.set(h.pid, resolve)));
    for (const h of this.holders) h.child.stdin.write(JSON.stringify({ cmd: 'churn', fraction, tickMs }) + '\n');
    await Promise.all(started);
  }

  _killNow(sig) {
    for (const c of this.children) {
      try {
        // The idle shell leads its own process group (detached), with every
        // idle process in it: signal the whole group.
        if (c === this._idleShell) process.kill(-c.pid, sig);
        else c.kill(sig);
      } catch {
        /* gone */
      }
    }
  }

  /** Ends every process the farm started; resolves once all are reaped. */
  stop() {
    if (this._stopping) return this._stopping;
    this._stopping = (async () => {
      const gone = [...this.children].map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) resolve();
            else c.once('exit', () => resolve());
          }),
      );
      for (const c of this.children) {
        try {
          c.stdin.end();
        } catch {
          /* gone */
        }
      }
      // Resetting takes a while at a million sockets (~0.5 s per full
      // holder, 2 cores): SIGKILL only when nothing has exited for a while,
      // since a killed holder closes its sockets the slow way (FIN:
      // TIME_WAIT and orphans for 60 s).
      let timer = setTimeout(() => this._killNow('SIGKILL'), STOP_GRACE_MS);
      for (const c of this.children) {
        c.once('exit', () => {
          clearTimeout(timer);
          timer = setTimeout(() => this._killNow('SIGKILL'), STOP_GRACE_MS);
        });
      }
      await Promise.all(gone);
      clearTimeout(timer);
      for (const fd of [this._nullFd, this._tmpFd]) {
        if (fd !== null && fd !== undefined)
          try {
            fs.closeSync(fd);
          } catch {
            /* closed */
          }
      }
      if (this._tmp)
        try {
          fs.unlinkSync(this._tmp);
        } catch {
          /* gone */
        }
      for (const p of this._twPending.values()) p.fail(new Error('the farm stopped'));
      liveFarms.delete(this);
    })();
    return this._stopping;
  }
}

/**
 * Builds the farm. Options: sockets (200000), idle (400), listen (300),
 * timeWait (0), onProgress({phase, done, total}). Resolves with the Farm:
 * { truth, holders, idle, pids, buildMs, makeTimeWait(n), stop() }.
 */
async function startFarm(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  for (const k of ['sockets', 'idle', 'listen', 'timeWait', 'window']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) throw new RangeError(`${k}: a non-negative integer`);
  }
  const farm = new Farm(opts);
  installHooks();
  liveFarms.add(farm);
  try {
    await farm._build();
  } catch (err) {
    await farm.stop();
    throw err;
  }
  return farm;
}

module.exports = { startFarm, plan, skewedCounts };

// --- CLI ---------------------------------------------------------------------

function parseArgs(argv) {
  const o = { hold: false, quiet: false };
  const names = { '--sockets': 'sockets', '--idle': 'idle', '--listen': 'listen', '--time-wait': 'timeWait' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--hold') o.hold = true;
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else if (names[a.split('=')[0]]) {
      const [k, inline] = a.split('=');
      const v = inline ?? argv[++i];
      if (!/^\d+$/.test(v ?? '')) throw new Error(`${k} needs a non-negative integer`);
      o[names[k]] = Number(v);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function cli() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`farm: ${err.message}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(
      'usage: node harness/farm.js [--sockets N] [--idle N] [--listen N] [--time-wait N] [--hold] [--quiet]\n' +
        '  Builds the socket farm, prints its truth as JSON. --hold keeps it until Ctrl-C/SIGTERM;\n' +
        '  then (with --hold) a line "timewait N" on stdin makes N TIME_WAIT sockets and prints the new truth.\n',
    );
    return;
  }
  const { hold, quiet, help: _help, ...opts } = o;
  let last = 0;
  const t0 = Date.now();
  const farm = await startFarm({
    ...opts,
    onProgress: quiet
      ? undefined
      : (ev) => {
          const now = Date.now();
          if (now - last < 1000 && ev.done !== ev.total) return;
          last = now;
          process.stderr.write(`farm: ${((now - t0) / 1000).toFixed(1)} s  ${ev.phase} ${ev.done}/${ev.total}\n`);
        },
  });
  if (!quiet)
    process.stderr.write(
      `farm: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${farm.holders.length} holders, ${farm.idle.length} idle processes\n`,
    );
  process.stdout.write(JSON.stringify(farm.truth) + '\n');
  if (!hold) {
    await farm.stop();
    return;
  }
  if (!quiet) process.stderr.write('farm: holding; Ctrl-C or SIGTERM tears it down\n');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const m = /^\s*timewait\s+(\d+)\s*$/.exec(line);
    if (!m) return;
    try {
      await farm.makeTimeWait(Number(m[1]));
      process.stdout.write(JSON.stringify(farm.truth) + '\n');
    } catch (err) {
      process.stderr.write(`farm: ${err.message}\n`);
    }
  });
  // Stay alive even when stdin is closed or /dev/null.
  setInterval(() => {}, 1 << 30);
}

if (require.main === module) {
  cli().catch((err) => {
    process.stderr.write(`farm: ${err.stack || err}\n`);
    process.exitCode = 1;
  });
}
