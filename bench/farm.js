#!/usr/bin/env node
// farm.js: builds a socket farm on loopback for the benchmarks: hundreds of
// thousands of TCP sockets in known states, held by known processes, among a
// crowd of idle processes, so a /proc walk meets a realistic process table.
//
//   const { startFarm } = require('./bench/farm');
//   const farm = await startFarm({ sockets: 200000, idle: 400, listen: 300, timeWait: 2000 });
//   farm.truth   // { closeWaitByPid, commandByPid, established, finWait2, timeWait, listen, total }
//   await farm.makeTimeWait(5000);   // right before a measurement: TIME_WAIT lives 60 s
//   await farm.stop();
//
//   node bench/farm.js --sockets 200000 [--idle 400] [--listen 300] [--time-wait 0] [--hold]
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
// destination only. Each holder gets its own listeners (<= 17,500 connections
// each, spread over several ports and 127.0.0.x addresses), and every
// makeTimeWait() batch gets fresh listeners. No sysctl is changed. Nothing
// is sent anywhere but 127.0.0.0/8.
//
// Teardown: stop() closes each child's stdin; holders then reset every
// connection (SO_LINGER 0, RST) and exit, so no TIME_WAIT, LAST_ACK or
// orphan is left behind; idle processes (`cat` reading that pipe) exit on
// EOF. Anything still alive after 10 s gets SIGKILL. The same happens when
// this process exits or gets SIGINT, SIGTERM or SIGHUP, and the children also
// exit on their own if this process dies, since their stdin then closes.
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
const TW_MAX_PER_BATCH = 20000; // TIME_WAIT per fresh listener and batch
const SETTLE_MS = 300; // the FIN's ACK is a delayed ACK (<= 200 ms): FIN_WAIT1 -> FIN_WAIT2
const STOP_GRACE_MS = 10000;
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
      if (top(mid) > cap) hi = mid; else lo = mid;
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
      if (take > 0) { c[i] -= take; excess -= take; moved = true; }
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
      if (role === 'fin') f++; else e++;
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
    this.holders = []; // {pid, title, role, counts, child}
    this.idle = []; // pids of the idle processes
    this.truth = null;
    this._twBatches = []; // {n, at}
    this._twId = 0;
    this._twPending = new Map();
    this._stopping = null;
    this._tmp = null;
  }

  get pids() {
    return [...this.holders.map((h) => h.pid), ...this.idle];
  }

  _progress(ev) {
    if (this.opts.onProgress) {
      try { this.opts.onProgress(ev); } catch { /* a caller's bug must not break the farm */ }
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
    });
    this._track(child);
    const rec = { pid: child.pid, title: cfg.title, role: cfg.role, counts: null, child, stderr: '' };
    child.stderr.on('data', (d) => { rec.stderr = (rec.stderr + d).slice(-4000); });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      if (msg.ev === 'timewait') {
        const p = this._twPending.get(msg.id);
        if (p) p.got(msg.made);
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

  _spawnIdle() {
    // `cat` reading a pipe from us: a separate process with its own fd table
    // (0: the pipe, 1-2: /dev/null, 3: /dev/null, 4: a temp file), which
    // exits on EOF, i.e. when we close the pipe or die.
    const child = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore', this._nullFd, this._tmpFd] });
    this._track(child);
    this.idle.push(child.pid);
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
    const failed = new Promise((_, reject) => { fail = reject; });
    failed.catch(() => {});
    const peerListening = new Map(); // peer index -> [{host, port, role}]
    let onListening;
    const allListening = new Promise((resolve) => { onListening = resolve; });
    const ready = new Map(); // pid -> counts
    let onReady;
    const allReady = new Promise((resolve) => { onReady = resolve; });
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

    // Spawn holders with the idle processes interleaved, so owners are spread
    // through the pid range as in a real process table.
    const holderCfgs = [
      ...p.peers.map((x, i) => () => this._spawnHolder(
        { title: x.title, role: 'peer', fin: x.fin, pairs: x.pairs, listeners: x.listeners }, handlers('peer', i))),
      ...p.cws.map((x, i) => () => { x.rec = this._spawnHolder({ title: x.title, role: 'cw' }, handlers('cw', i)); }),
    ];
    const nIdle = o.idle;
    const steps = holderCfgs.length + nIdle;
    let hi = 0;
    let ii = 0;
    for (let k = 0; k < steps; k++) {
      // Holders first in each stretch, so their startup overlaps the idle spawns.
      if (hi < holderCfgs.length && (ii >= nIdle || hi * steps <= k * holderCfgs.length + holderCfgs.length)) holderCfgs[hi++]();
      else { this._spawnIdle(); ii++; }
      if (k % 64 === 63) {
        this._progress({ phase: 'spawn', done: k + 1, total: steps });
        await new Promise((r) => setImmediate(r)); // let holder messages in
      }
    }
    this._progress({ phase: 'spawn', done: steps, total: steps });
    fs.closeSync(this._nullFd);
    fs.closeSync(this._tmpFd);
    this._nullFd = this._tmpFd = null;

    await Promise.race([allListening, failed]);
    // Aim each cw holder at its peers' 'fin' listeners.
    for (const h of p.cws) {
      const targets = [];
      for (const seg of h.segments) {
        const fins = peerListening.get(seg.peer).filter((l) => l.role === 'fin');
        split(seg.n, Math.min(fins.length, seg.n)).forEach((n, k) => {
          if (n > 0) targets.push({ host: fins[k].host, port: fins[k].port, n });
        });
      }
      h.rec.child.stdin.write(JSON.stringify({ cmd: 'targets', targets }) + '\n');
    }
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
   * their own and close first). They live 60 s: truth.timeWait counts the
   * batches made in the last 60 s. Resolves with the updated truth.
   */
  async makeTimeWait(n) {
    if (!this.truth || this._stopping) throw new Error('the farm is not running');
    if (!Number.isInteger(n) || n < 0) throw new RangeError('makeTimeWait(n): a non-negative integer');
    let max = Infinity;
    try { max = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_max_tw_buckets', 'utf8')); } catch { /* keep Infinity */ }
    if (n > max) throw new RangeError(`makeTimeWait(${n}): over net.ipv4.tcp_max_tw_buckets (${max})`);
    if (n === 0) return this.truth;
    const peers = this.holders.filter((h) => h.role === 'peer');
    // Batches of at most TW_MAX_PER_BATCH per fresh listener.
    const parts = split(n, Math.max(peers.length, Math.ceil(n / TW_MAX_PER_BATCH)));
    const jobs = parts.map((k, i) => new Promise((resolve, reject) => {
      const id = ++this._twId;
      this._twPending.set(id, {
        got: (m) => { this._twPending.delete(id); resolve(m); },
        fail: (err) => { this._twPending.delete(id); reject(err); },
      });
      const host = `127.0.0.${1 + ((this._twId + i) % HOSTS)}`;
      peers[i % peers.length].child.stdin.write(JSON.stringify({ cmd: 'timewait', id, n: k, host }) + '\n');
    }));
    const made = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    this._twBatches.push({ n: made, at: Date.now() });
    this._recount();
    this._progress({ phase: 'timewait', done: made, total: n });
    return this.truth;
  }

  _killNow(sig) {
    for (const c of this.children) {
      try { c.kill(sig); } catch { /* gone */ }
    }
  }

  /** Ends every process the farm started; resolves once all are reaped. */
  stop() {
    if (this._stopping) return this._stopping;
    this._stopping = (async () => {
      const gone = [...this.children].map((c) => new Promise((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) resolve();
        else c.once('exit', () => resolve());
      }));
      for (const c of this.children) {
        try { c.stdin.end(); } catch { /* gone */ }
      }
      const timer = setTimeout(() => this._killNow('SIGKILL'), STOP_GRACE_MS);
      await Promise.all(gone);
      clearTimeout(timer);
      for (const fd of [this._nullFd, this._tmpFd]) {
        if (fd !== null && fd !== undefined) try { fs.closeSync(fd); } catch { /* closed */ }
      }
      if (this._tmp) try { fs.unlinkSync(this._tmp); } catch { /* gone */ }
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
    process.stdout.write('usage: node bench/farm.js [--sockets N] [--idle N] [--listen N] [--time-wait N] [--hold] [--quiet]\n' +
      '  Builds the socket farm, prints its truth as JSON. --hold keeps it until Ctrl-C/SIGTERM;\n' +
      '  then (with --hold) a line "timewait N" on stdin makes N TIME_WAIT sockets and prints the new truth.\n');
    return;
  }
  const { hold, quiet, help, ...opts } = o;
  let last = 0;
  const t0 = Date.now();
  const farm = await startFarm({
    ...opts,
    onProgress: quiet ? undefined : (ev) => {
      const now = Date.now();
      if (now - last < 1000 && ev.done !== ev.total) return;
      last = now;
      process.stderr.write(`farm: ${((now - t0) / 1000).toFixed(1)} s  ${ev.phase} ${ev.done}/${ev.total}\n`);
    },
  });
  if (!quiet) process.stderr.write(`farm: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${farm.holders.length} holders, ${farm.idle.length} idle processes\n`);
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
