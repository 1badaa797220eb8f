// Shared test helpers: start fixture processes, read `ss` as an oracle, and
// clean up. Real sockets, real processes; nothing here is mocked.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();

const children = new Set();

// C fixtures are built once per test process into one temp directory
// (tempDir: removed when the process exits).
let buildDir;
/** Compiles test/fixtures/<name>.c (with -lpthread) and returns the binary's path. */
function buildFixture(name) {
  buildDir ??= tempDir('tcpcensus-fixtures-');
  const bin = path.join(buildDir, name);
  if (!fs.existsSync(bin)) {
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, path.join(__dirname, 'fixtures', `${name}.c`), '-lpthread']);
  }
  return bin;
}
function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);

/** Starts a fixture and resolves with its first stdout line parsed as JSON. */
function startFixture(cmd, args, { timeoutMs = 30000, spawnOpts = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: not ready in ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      resolve({
        child,
        info,
        stop: () => new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          child.once('exit', () => { children.delete(child); res(); });
          child.stdin.end();
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${stderr}`));
    });
  });
}

/**
 * test/fixtures/leaderless.c: a process whose main thread has exited while
 * `threads` threads run on; resolves once its /proc/<pid>/fd reads empty.
 */
async function startLeaderless(threads) {
  const fx = await startFixture(buildFixture('leaderless'), [String(threads)]);
  const { pid } = fx.info;
  for (let i = 0; i < 200 && fs.readdirSync(`/proc/${pid}/fd`).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  if (fs.readdirSync(`/proc/${pid}/fd`).length > 0) throw new Error(`leaderless ${pid}: the main thread did not exit`);
  if (fs.readdirSync(`/proc/${pid}/task`).length < threads) throw new Error(`leaderless ${pid}: fewer than ${threads} threads`);
  return fx;
}

/**
 * One listening socket held by two processes: a python parent and the child
 * it forks (the child inherits the fd). info: {pid, child, port, inode}.
 */
function startSharer() {
  return startStatesLike(
    'import os,socket,sys,json\n' +
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()\n' +
    'pid=os.fork()\n' +
    'if pid==0:\n  sys.stdin.read(); os._exit(0)\n' +
    'print(json.dumps({"pid":os.getpid(),"child":pid,"port":s.getsockname()[1],"inode":os.fstat(s.fileno()).st_ino}),flush=True)\n' +
    'sys.stdin.read(); os.kill(pid,9)\n');
}

/** The make_states.py fixture: every TCP state on loopback. */
// Its setup polls /proc/net/tcp*, which is slow on a host with many sockets:
// give it time rather than fail a busy machine.
function startStates(args = ['--close'], opts = { timeoutMs: 120000 }) {
  return startFixture(PYTHON, [path.join(__dirname, 'fixtures', 'make_states.py'), '--timeout', '90', ...args], opts);
}

/** A python3 -c script as a fixture: it prints one JSON line, then holds until stdin closes. */
function startStatesLike(code) {
  return startFixture(PYTHON, ['-c', code]);
}

/** A node child holding closeWait CLOSE_WAIT and timeWait TIME_WAIT sockets (see fixtures/holder.js). */
function startHolder(title, closeWait, timeWait = 0, host = '4', { clientHost, prefix } = {}) {
  const args = [path.join(__dirname, 'fixtures', 'holder.js'), title, String(closeWait), String(timeWait), host];
  if (clientHost) args.push(clientHost);
  // prefix: a command to run node under, e.g. setpriv to another user.
  return prefix ? startFixture(prefix[0], [...prefix.slice(1), process.execPath, ...args]) : startFixture(process.execPath, args);
}

/**
 * A server on host that shuts down its side of every connection at once and
 * keeps it open: the clients' ends go to CLOSE_WAIT (theirs), ours to
 * FIN_WAIT2. Resolves with {port, close()}.
 */
function startHalfCloser(host) {
  const net = require('node:net');
  const held = new Set();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
    s.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve({
      port: server.address().port,
      close: () => new Promise((r) => {
        for (const s of held) s.resetAndDestroy();
        server.close(() => r());
      }),
    }));
  });
}

/**
 * fixtures/cw_client.js: a process named `title` with n client sockets in
 * CLOSE_WAIT towards host:port (a startHalfCloser server). The fixture gets
 * replace(k): k of them replaced by new ones, resolved once they are in
 * CLOSE_WAIT.
 */
async function startCwClient(title, host, port, n) {
  const fx = await startFixture(process.execPath, [path.join(__dirname, 'fixtures', 'cw_client.js'), title, host, String(port), String(n)]);
  const lines = [];
  let waiting = null;
  readline.createInterface({ input: fx.child.stdout }).on('line', (line) => {
    lines.push(line);
    if (waiting) { const w = waiting; waiting = null; w(); }
  });
  fx.replace = async (k) => {
    fx.child.stdin.write(`replace ${k}\n`);
    while (!lines.some((l) => l.includes('"replaced"'))) await new Promise((r) => { waiting = r; });
    lines.length = 0;
  };
  return fx;
}

const SS_STATES = {
  ESTAB: 'ESTABLISHED', 'SYN-SENT': 'SYN_SENT', 'SYN-RECV': 'SYN_RECV', 'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2', 'TIME-WAIT': 'TIME_WAIT', UNCONN: 'CLOSE', 'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING',
};

// "127.0.0.1:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "*:80", "0.0.0.0:*"
function splitEndpoint(s) {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  const port = s.slice(i + 1) === '*' ? 0 : Number(s.slice(i + 1));
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port };
}

/**
 * Runs `ss -tanH <extra...>` with -e and -p and returns one object per socket:
 * {state, family, localAddress, localPort, remoteAddress, remotePort, recvQ,
 *  sendQ, uid, inode, users: [{command, pid, fd}]}.
 * Wildcard addresses ("*" and "[::]") are left as ss prints them in `host`;
 * callers normalise with normalHost().
 */
function ss(extra = []) {
  const out = execFileSync('ss', ['-tanHep', ...extra], { maxBuffer: 1 << 30 }).toString();
  const rows = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    // With a single-state filter ss leaves out the State column.
    if (/^\d+$/.test(f[0])) f.unshift(null);
    const local = splitEndpoint(f[3]);
    const peer = splitEndpoint(f[4]);
    const rest = f.slice(5).join(' ');
    const users = [...rest.matchAll(/\("([^"]*)",pid=(\d+),fd=(\d+)\)/g)].map((m) => ({ command: m[1], pid: Number(m[2]), fd: Number(m[3]) }));
    const uid = /\buid:(\d+)/.exec(rest);
    const ino = /\bino:(\d+)/.exec(rest);
    rows.push({
      state: f[0] === null ? null : SS_STATES[f[0]] ?? f[0],
      localHost: local.host,
      localPort: local.port,
      remoteHost: peer.host,
      remotePort: peer.port,
      recvQ: Number(f[1]),
      sendQ: Number(f[2]),
      uid: uid ? Number(uid[1]) : 0,
      inode: ino ? Number(ino[1]) : 0,
      users,
    });
  }
  return rows;
}

/** ss prints wildcards as "*" or "::"/"0.0.0.0"; tcpcensus prints the address. */
function sameHost(ssHost, ours, family) {
  if (ssHost === '*') return family === 'ipv6' ? ours === '::' : ours === '0.0.0.0';
  return ssHost === ours;
}

/** Counts by state of `ss -tanH <extra>`. */
function ssCounts(extra = []) {
  const out = execFileSync('ss', ['-tanH', ...extra], { maxBuffer: 1 << 30 }).toString();
  const counts = {};
  for (const line of out.split('\n')) {
    const s = line.split(/\s+/)[0];
    if (/^\d+$/.test(s)) throw new Error('ssCounts needs the State column: give it no single-state filter');
    if (!s) continue;
    const name = SS_STATES[s] ?? s;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/**
 * ss and tcpcensus run one after the other, and sockets can come and go in
 * between (a TIME_WAIT expiring). Runs oracle, ours, oracle again until the
 * oracle held still, then returns both; fails after `tries`.
 */
async function stable(oracle, ours, tries = 10) {
  for (let i = 0; i < tries; i++) {
    const before = oracle();
    const mine = await ours();
    const after = oracle();
    if (JSON.stringify(before) === JSON.stringify(after)) return { oracle: before, mine };
  }
  throw new Error(`the host never held still in ${tries} tries`);
}

// Runs node with args, under opts.prefix (e.g. setpriv) when given, and
// resolves with {code, stdout, stderr}.
function runNodeArgs(args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(opts.prefix ? opts.prefix[0] : process.execPath,
      [...(opts.prefix ? opts.prefix.slice(1).concat([process.execPath]) : []), ...args],
      { env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the built CLI and returns {code, stdout, stderr}. */
function runCli(args, opts = {}) {
  return runNodeArgs([CLI, ...args], opts);
}

/**
 * Calls one library function in a fresh node (as another user with
 * opts.prefix) and resolves with what it gave: {ok: true, value} or
 * {ok: false, error: {name, message, code, syscall, errno, path, pid, option}}.
 */
async function callLibrary(fn, options, opts = {}) {
  const code = `
    const tc = require(${JSON.stringify(ROOT)});
    const out = (o) => process.stdout.write(JSON.stringify(o));
    const fail = (e) => out({ ok: false, error: { name: e.name, message: e.message, code: e.code, syscall: e.syscall,
      errno: e.errno, path: e.path, pid: e.pid, option: e.option } });
    try {
      Promise.resolve(tc[${JSON.stringify(fn)}](${JSON.stringify(options)})).then((value) => out({ ok: true, value }), fail);
    } catch (e) { fail(e); }`;
  const r = await runNodeArgs(['-e', code], opts);
  if (r.code !== 0) throw new Error(`node -e for ${fn} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * A directory from mkdtemp under os.tmpdir() that the caller removes in
 * after(); removed at exit too, in case a test failed before it could.
 */
const tempDirs = new Set();
function tempDir(prefix = 'tcpcensus-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}
function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}
process.on('exit', () => { for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true }); });

/**
 * The INET_DIAG_REQ_BYTECODE program the library compiles for these filters
 * ({ sport, dport, src, dst } as the library takes them), for tests that
 * call the raw binding.
 */
function filterBytecode(o) {
  const { compileFilter, parsePortRange, parsePrefix } = require(path.join(ROOT, 'dist', 'request/filter'));
  const spec = {};
  for (const k of ['sport', 'dport']) if (o[k] !== undefined) spec[k] = parsePortRange(o[k], k);
  for (const k of ['src', 'dst']) if (o[k] !== undefined) spec[k] = parsePrefix(o[k], k);
  return compileFilter(spec);
}

/** Where cgroup2 is mounted (the first cgroup2 line of /proc/mounts), or undefined. */
function cgroup2Mount() {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1].replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/**
 * Removes cgroup directories, deepest first, each once its processes are
 * gone (rmdir is EBUSY until then); a missing one is fine.
 */
async function removeCgroups(dirs) {
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (e) {
        if (e.code === 'ENOENT') break;
        if (e.code !== 'EBUSY' || i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** Runs node as root without CAP_SYS_PTRACE (a container's default). */
const NO_PTRACE = ['setpriv', '--bounding-set=-sys_ptrace', '--inh-caps=-sys_ptrace'];

/** Runs node as user nobody. */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

module.exports = {
  AS_NOBODY, NO_PTRACE, buildFixture, startLeaderless, startSharer, filterBytecode, stable, startFixture, ROOT, CLI, PYTHON, startStates, startStatesLike, startHolder, ss, ssCounts,
  sameHost, runCli, runNodeArgs, callLibrary, tempDir, removeTempDir, killAll, SS_STATES, cgroup2Mount, removeCgroups, startHalfCloser, startCwClient,
};
