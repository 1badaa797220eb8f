// farm-holder.js: one process of the benchmark socket farm (see farm.js, which
// spawns it; it is not meant to be run by hand).
//
//   node farm-holder.js '<json config>'
//
// Config: { title, role: 'peer' | 'cw', window, listeners: [{host, role}],
//           fin, pairs, progressEvery }
//
// role 'peer': opens its listeners (role 'fin' or 'estab'), reports them, then
//   - makes `pairs` ESTABLISHED connections to its own 'estab' listeners and
//     keeps both ends (2 sockets each);
//   - accepts `fin` connections on its 'fin' listeners (they come from the 'cw'
//     holders) and calls shutdown(SHUT_WR) on each (socket.end()) while keeping
//     it open: these are *owned* FIN_WAIT2 sockets, which never time out
//     (tcp_fin_timeout applies to orphans only).
// role 'cw': waits for {"cmd":"targets"} on stdin, connects that many times to
//   the peers' 'fin' listeners and waits for each peer's FIN ('end'). With
//   allowHalfOpen it never shuts down its own side: every socket stays in
//   CLOSE_WAIT for as long as the process lives.
//
// Churn (for the sampler bench): {"cmd":"churn","fraction":0.02,"tickMs":100}
// makes the holder replace that fraction of its own units every second, in
// ticks: a 'cw' holder resets CLOSE_WAIT sockets and connects as many new
// ones to the same targets (their peers' FIN_WAIT2 ends go with them); a
// 'peer' resets ESTABLISHED pairs and makes as many new ones. fraction 0
// stops it. The counts stay what they were, give or take the replacements
// in flight.
//
// Protocol: JSON lines. stdout: {"ev":"listening"|"progress"|"ready"|"timewait"|"churn"|"error",...}.
// stdin: {"cmd":"targets","targets":[{host,port,n}]}, {"cmd":"timewait","id","n","chunk","hosts"},
// {"cmd":"churn","fraction","tickMs"}.
// When stdin closes (the parent stopped the farm, or died) or on SIGTERM/SIGINT/
// SIGHUP it resets every connection (SO_LINGER 0: RST, so teardown leaves no
// TIME_WAIT, LAST_ACK or orphan behind) and exits.
'use strict';
const net = require('node:net');
const readline = require('node:readline');

const cfg = JSON.parse(process.argv[2]);
process.title = cfg.title; // what /proc/<pid>/comm and cmdline show
const WINDOW = cfg.window || 256;
const PROGRESS_EVERY = cfg.progressEvery || 4096;

const held = new Set(); // every connected socket this process keeps
const servers = [];
const counts = { listen: 0, established: 0, closeWait: 0, finWait2: 0 };
let made = 0; // sockets in place, for progress reports
let lastProgress = 0;
let tearingDown = false;

function send(msg) {
  try {
    process.stdout.write(JSON.stringify(msg) + '\n');
  } catch {
    /* parent gone */
  }
}
function fail(err) {
  send({ ev: 'error', pid: process.pid, title: cfg.title, message: String((err && err.stack) || err) });
  teardown(1);
}
function noop() {}
function progress(n) {
  made += n;
  if (made - lastProgress >= PROGRESS_EVERY) {
    send({ ev: 'progress', n: made - lastProgress });
    lastProgress = made;
  }
}
function flushProgress() {
  if (made > lastProgress) send({ ev: 'progress', n: made - lastProgress });
  lastProgress = made;
}

/**
 * Runs start(i, w) for i in [0, total) with at most `window` operations not
 * yet finished; each operation calls w.finish() once (in any order) or
 * w.fail(err). The window is counted up to the *peer's* side of the work
 * (accepted, FIN received), not the local connect(): a connect completes in
 * the kernel before the listener's process accepts, and an unbounded stream
 * of them overflows the accept queue (SYN dropped, retried 1 s, 3 s, 7 s later).
 */
function windowed(total, window, start) {
  let started = 0;
  let finished = 0;
  let settled = false;
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const w = {
    promise,
    finish() {
      if (settled) return;
      finished++;
      if (finished >= total) {
        settled = true;
        resolve();
      } else pump();
    },
    fail(err) {
      if (settled) return;
      settled = true;
      reject(err);
    },
  };
  function pump() {
    while (!settled && started < total && started - finished < window) start(started++, w);
  }
  if (total <= 0) {
    settled = true;
    resolve();
  } else pump();
  return w;
}

/** Resolves when cond() is true, checked whenever poke() is called. */
function waiter() {
  let pending = null;
  return {
    until(cond) {
      if (cond()) return Promise.resolve();
      return new Promise((resolve) => {
        pending = { cond, resolve };
      });
    },
    poke() {
      if (pending && pending.cond()) {
        const p = pending;
        pending = null;
        p.resolve();
      }
    },
  };
}

function listen(server, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, backlog: 4096 }, () => {
      server.removeListener('error', reject);
      server.on('error', fail);
      resolve(server.address().port);
    });
  });
}

/** Spreads n connections over targets [{host, port, n}] in round-robin order. */
function expandTargets(targets) {
  const order = [];
  const left = targets.map((t) => t.n);
  let remaining = left.reduce((a, b) => a + b, 0);
  while (remaining > 0) {
    for (let i = 0; i < targets.length; i++) {
      if (left[i] > 0) {
        order.push(i);
        left[i]--;
        remaining--;
      }
    }
  }
  return order;
}

// --- role 'peer' ----------------------------------------------------------

async function peer() {
  const fin = cfg.fin || 0;
  const pairs = cfg.pairs || 0;
  const finAcked = waiter();
  let estabWindow = null; // set before the first connect; accepts finish its operations
  let estabConnected = 0;
  const out = [];
  for (const l of cfg.listeners) {
    let server;
    if (l.role === 'fin') {
      // Accepted ends: shut down our write side at once and keep the socket.
      server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
        s.on('error', noop);
        held.add(s);
        finEnds.add(s);
        // Once churn runs, the 'cw' side resets these: read, to see it and let go.
        s.once('close', () => {
          held.delete(s);
          finEnds.delete(s);
        });
        if (churning) s.resume();
        s.end();
        s.once('finish', () => {
          counts.finWait2++;
          progress(1);
          finAcked.poke();
        });
      });
    } else {
      server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
        s.on('error', noop);
        held.add(s);
        pairUp(`${s.remoteAddress}:${s.remotePort}`, 'server', s);
        counts.established++;
        progress(1);
        if (estabWindow) estabWindow.finish();
      });
    }
    const port = await listen(server, l.host);
    servers.push(server);
    counts.listen++;
    out.push({ host: l.host, port, role: l.role });
  }
  send({ ev: 'listening', pid: process.pid, listeners: out });

  // ESTABLISHED pairs: connect to our own 'estab' listeners, keep both ends.
  const targets = out.filter((l) => l.role === 'estab');
  estabTargets = targets;
  if (pairs > 0 && targets.length === 0) throw new Error('pairs without an estab listener');
  const connected = waiter();
  estabWindow = windowed(pairs, WINDOW, (i, w) => {
    const t = targets[i % targets.length];
    const c = net.connect({ host: t.host, port: t.port, allowHalfOpen: true });
    c.once('error', (err) => w.fail(err));
    c.once('connect', () => {
      c.removeAllListeners('error');
      c.on('error', noop);
      c.pause();
      held.add(c);
      pairUp(`${c.localAddress}:${c.localPort}`, 'client', c);
      estabConnected++;
      counts.established++;
      progress(1);
      connected.poke();
    });
  });
  await estabWindow.promise; // every pair accepted
  await connected.until(() => estabConnected >= pairs);
  // FIN_WAIT2: every connection the 'cw' holders aim at us, accepted and shut down.
  await finAcked.until(() => counts.finWait2 >= fin);
  flushProgress();
  send({ ev: 'ready', pid: process.pid, title: cfg.title, role: cfg.role, counts });
}

// --- role 'cw' ------------------------------------------------------------

async function closeWait(targets) {
  const order = expandTargets(targets);
  const w = windowed(order.length, WINDOW, (i, w) => {
    const t = targets[order[i]];
    const c = net.connect({ host: t.host, port: t.port, allowHalfOpen: true });
    c.once('error', (err) => w.fail(err));
    c.once('connect', () => {
      c.removeAllListeners('error');
      c.on('error', noop);
      held.add(c);
    });
    // The peer accepted and shut down: our end is now CLOSE_WAIT and stays
    // so, since allowHalfOpen keeps node from ending our side in reply.
    c.once('end', () => {
      counts.closeWait++;
      progress(1);
      w.finish();
    });
  });
  await w.promise;
  cwTargets = targets;
  cwSockets.push(...[...held]);
  flushProgress();
  send({ ev: 'ready', pid: process.pid, title: cfg.title, role: cfg.role, counts });
}

// --- churn (any role) ---------------------------------------------------------

const finEnds = new Set(); // peer: accepted ends shut down for the 'cw' holders
let churning = false;
let estabTargets = []; // peer: its 'estab' listeners
let cwTargets = []; // cw: where the CLOSE_WAIT sockets connect
const cwSockets = []; // cw: the CLOSE_WAIT sockets, for picking at random
const pairs = []; // peer: [client, server] ESTABLISHED pairs
const halves = new Map(); // peer: "addr:port" of the client -> the first half seen

/** Joins the two ends of an ESTABLISHED pair, whichever comes first. */
function pairUp(key, side, sock) {
  const other = halves.get(key);
  if (!other) {
    halves.set(key, { side, sock });
    return;
  }
  halves.delete(key);
  pairs.push(side === 'client' ? [sock, other.sock] : [other.sock, sock]);
}

function reset(sock) {
  held.delete(sock);
  try {
    sock.resetAndDestroy();
  } catch {
    try {
      sock.destroy();
    } catch {
      /* gone */
    }
  }
}

/** Removes and returns a random element of arr (order does not matter). */
function takeRandom(arr) {
  const i = Math.floor(Math.random() * arr.length);
  const x = arr[i];
  arr[i] = arr[arr.length - 1];
  arr.pop();
  return x;
}

function connectCw(t) {
  const c = net.connect({ host: t.host, port: t.port, allowHalfOpen: true });
  c.on('error', noop);
  held.add(c);
  c.once('end', () => cwSockets.push(c));
  c.once('close', () => held.delete(c));
}

function connectPair(t) {
  const c = net.connect({ host: t.host, port: t.port, allowHalfOpen: true });
  c.on('error', noop);
  c.once('connect', () => {
    c.pause();
    held.add(c);
    pairUp(`${c.localAddress}:${c.localPort}`, 'client', c);
  });
}

let churnTimer = null;
function churn({ fraction, tickMs = 100 }) {
  if (churnTimer) clearInterval(churnTimer);
  churnTimer = null;
  if (!(fraction > 0)) {
    send({ ev: 'churn', fraction: 0 });
    return;
  }
  if (!churning) {
    churning = true;
    for (const s of finEnds) s.resume();
  }
  // Units to replace per tick; the fraction left over carries to the next.
  const units = cfg.role === 'cw' ? cwSockets.length : pairs.length;
  const perTick = (units * fraction * tickMs) / 1000;
  let carry = 0;
  churnTimer = setInterval(() => {
    carry += perTick;
    let k = Math.floor(carry);
    carry -= k;
    if (cfg.role === 'cw') {
      for (; k > 0 && cwSockets.length > 0; k--) {
        reset(takeRandom(cwSockets));
        connectCw(cwTargets[Math.floor(Math.random() * cwTargets.length)]);
      }
    } else {
      for (; k > 0 && pairs.length > 0; k--) {
        const [c, s] = takeRandom(pairs);
        reset(c);
        reset(s);
        connectPair(estabTargets[Math.floor(Math.random() * estabTargets.length)]);
      }
    }
  }, tickMs);
  send({ ev: 'churn', fraction, perTick });
}

// --- TIME_WAIT on demand (any role) -----------------------------------------

// TIME_WAIT in chunks of `chunk` connections, each chunk to a fresh listener
// on its own address (`hosts`, from the parent, never used twice by a
// farm), made in one burst. Why: with net.ipv4.tcp_tw_reuse=2 (the default)
// a loopback connect() may take over a TIME_WAIT of the same 4-tuple once it
// is over 1 s old, which kills it silently; no destination of ours ever has
// a TIME_WAIT that old when we connect to it.
async function timeWait({ id, n, chunk, hosts }) {
  let made = 0;
  for (let k = 0; made < n; k++) {
    const size = Math.min(chunk, n - made);
    await timeWaitChunk(size, hosts[k]);
    made += size;
  }
  send({ ev: 'timewait', id, made });
}

async function timeWaitChunk(n, host) {
  let serverClosed = 0;
  const allClosed = waiter();
  const server = net.createServer((s) => {
    // allowHalfOpen false: on the client's FIN we end() too, then close.
    s.on('error', noop);
    s.once('close', () => {
      serverClosed++;
      allClosed.poke();
    });
  });
  const port = await listen(server, host);
  const w = windowed(n, WINDOW, (i, w) => {
    const c = net.connect({ host, port });
    let failed = false;
    c.once('error', (err) => {
      failed = true;
      w.fail(err);
    });
    // We close first (FIN), the server answers with its FIN, we ACK it and
    // our socket goes TIME_WAIT; 'close' comes after that.
    c.once('connect', () => c.end());
    c.once('close', () => {
      if (!failed) w.finish();
    });
  });
  await w.promise;
  await allClosed.until(() => serverClosed >= n);
  await new Promise((resolve) => server.close(resolve));
}

// --- control ----------------------------------------------------------------

function teardown(code = 0) {
  if (tearingDown) return;
  tearingDown = true;
  if (churnTimer) clearInterval(churnTimer);
  for (const s of held) {
    try {
      s.resetAndDestroy();
    } catch {
      try {
        s.destroy();
      } catch {
        /* ignore */
      }
    }
  }
  for (const s of servers) {
    try {
      s.close();
    } catch {
      /* ignore */
    }
  }
  // uv_tcp_close_reset closes each fd at once (SO_LINGER 0, then close), so
  // nothing is left for the exit to close gracefully.
  process.exit(code);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => teardown(0));
process.stdin.on('end', () => teardown(0));
process.stdin.on('close', () => teardown(0));
process.stdin.on('error', () => teardown(0));
process.stdout.on('error', () => teardown(0));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    fail(err);
    return;
  }
  if (msg.cmd === 'targets') closeWait(msg.targets).catch(fail);
  else if (msg.cmd === 'timewait') timeWait(msg).catch(fail);
  else if (msg.cmd === 'churn') churn(msg);
  else fail(new Error(`unknown command ${line}`));
});

if (cfg.role === 'peer') peer().catch(fail);
else if (cfg.role !== 'cw') fail(new Error(`unknown role ${cfg.role}`));
