// tcpcensus serve and registerMetrics: real scrapes over HTTP on
// loopback, parsed as the Prometheus text format, with values equal to
// countStates and topProcesses on sockets the test made; one sample for
// concurrent scrapes within the min interval; 405, 404, 413, 431 and a slow
// client that stalls nobody and is dropped; registerMetrics into a fresh
// prom-client Registry; bad flags exit 2.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';
import { startServe } from '../../helpers/serve';

const HOST = '127.0.0.73';
let server: h.HalfCloser;
const holders = {} as Record<'a1' | 'a2' | 'b', h.CwClient>;
before(async () => {
  server = await h.startHalfCloser(HOST);
  [holders.a1, holders.a2, holders.b] = await Promise.all([
    h.startCwClient('tc-serve-same', HOST, server.port, 3),
    h.startCwClient('tc-serve-same', HOST, server.port, 2),
    h.startCwClient('tc-serve-b', HOST, server.port, 4),
  ]);
});
after(async () => {
  await Promise.all(Object.values(holders).map((x) => x.stop()));
  await server.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FILTER = () => ['--dst', HOST, '--dport', String(server.port)];

/** The Prometheus text exposition format: [{name, labels, value}] for every sample line. */
interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let l;
      let seen = 0;
      while ((l = re.exec(m[3])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c) => (c === 'n' ? '\n' : c));
        seen += l[0].length;
      }
      assert.equal(seen, m[3].length, `bad labels: ${line}`);
    }
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}
const series = (parsed: Series[], name: string) => parsed.filter((s) => s.name === name);
const value = (parsed: Series[], name: string, labels: Record<string, string> = {}) => {
  const found = series(parsed, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
};

interface Got {
  status: number | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        data += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

test('a real scrape: every state present, owners per command and process equal countStates and topProcesses', async () => {
  const srv = await startServe([...FILTER(), '--top-processes', '10']);
  try {
    const res = await get(`${srv.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    const m = parseExposition(res.body);
    const [counts, top, byCommand] = await Promise.all([
      tc.countStates({ dst: HOST, dport: server.port }),
      tc.topProcesses({ dst: HOST, dport: server.port, limit: 100 }),
      tc.topProcesses({ dst: HOST, dport: server.port, by: 'command', limit: 100 }),
    ]);
    // Every state, both families, zeros included.
    assert.equal(series(m, 'tcpcensus_sockets').length, 20);
    for (const [state, n] of Object.entries(counts.states)) {
      assert.equal(value(m, 'tcpcensus_sockets', { state, family: 'ipv4' }) + value(m, 'tcpcensus_sockets', { state, family: 'ipv6' }), n, state);
      assert.equal(value(m, 'tcpcensus_unowned_sockets', { state }), 0, state);
    }
    assert.equal(counts.states.CLOSE_WAIT, 9);
    // Per command: both tc-serve-same processes together.
    assert.deepEqual(
      series(m, 'tcpcensus_command_sockets').map((s) => [s.labels.state, s.labels.command, s.value]),
      byCommand.rows.map((r) => ['CLOSE_WAIT', r.command, r.count]),
    );
    assert.equal(value(m, 'tcpcensus_command_sockets', { command: 'tc-serve-same' }), 5);
    // Per process, with the pid.
    assert.deepEqual(
      series(m, 'tcpcensus_process_sockets').map((s) => [s.labels.state, Number(s.labels.pid), s.labels.command, s.value]),
      top.rows.map((r) => ['CLOSE_WAIT', r.pid, r.command, r.count]),
    );
    assert.equal(value(m, 'tcpcensus_process_sockets', { pid: String(holders.b.info.pid) }), 4);
    assert.equal(value(m, 'tcpcensus_unattributed_sockets', { state: 'CLOSE_WAIT' }), 0);
    // Per cgroup: what topProcesses by cgroup says, with no owner walk.
    const byCgroup = await tc.topProcesses({ dst: HOST, dport: server.port, by: 'cgroup', limit: 100 });
    assert.ok(byCgroup.rows.length >= 1);
    assert.deepEqual(
      series(m, 'tcpcensus_cgroup_sockets').map((s) => [s.labels.state, s.labels.cgroup, s.value]),
      byCgroup.rows.map((r) => ['CLOSE_WAIT', r.path, r.count]),
    );
    assert.equal(value(m, 'tcpcensus_owner_source', { source: 'bpf' }), 1, 'as root, the eBPF iterator answers');
    assert.equal(value(m, 'tcpcensus_sample_duration_seconds_count'), 1);
    assert.ok(value(m, 'tcpcensus_unreadable_processes') >= 0);
    assert.equal(
      value(m, 'tcpcensus_host_limit', { limit: 'tcp_max_tw_buckets' }),
      Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_max_tw_buckets', 'utf8')),
    );
    assert.ok(value(m, 'tcpcensus_host_limit', { limit: 'local_ports' }) > 1000);
    assert.ok(value(m, 'process_resident_memory_bytes') > 0, "prom-client's default process metrics");
  } finally {
    assert.equal(await srv.stop(), 0, 'SIGTERM: closed and exit 0');
  }
});

test('--top and --top-processes bound the series per attributed state', async () => {
  const srv = await startServe([...FILTER(), '--top', '1', '--top-processes', '2', '--owner-states', 'close-wait,fin-wait-2']);
  try {
    const m = parseExposition((await get(`${srv.url}/metrics`)).body);
    assert.deepEqual(
      series(m, 'tcpcensus_command_sockets').map((s) => [s.labels.state, s.labels.command, s.value]),
      [['CLOSE_WAIT', 'tc-serve-same', 5]],
    );
    assert.deepEqual(
      series(m, 'tcpcensus_process_sockets').map((s) => [s.labels.state, Number(s.labels.pid), s.value]),
      [
        ['CLOSE_WAIT', holders.b.info.pid, 4],
        ['CLOSE_WAIT', holders.a1.info.pid, 3],
      ],
    );
    assert.deepEqual(
      series(m, 'tcpcensus_unattributed_sockets').map((s) => s.labels.state),
      ['FIN_WAIT2', 'CLOSE_WAIT'],
    );
  } finally {
    await srv.stop();
  }
});

test('concurrent scrapes within the min interval share one sample', async () => {
  const srv = await startServe([...FILTER(), '--min-interval', '3s']);
  try {
    const count = async () => value(parseExposition((await get(`${srv.url}/metrics`)).body), 'tcpcensus_sample_duration_seconds_count');
    assert.equal(await count(), 1);
    // Within 3 s of it: the same sample, however many ask.
    assert.deepEqual(await Promise.all(Array.from({ length: 6 }, count)), [1, 1, 1, 1, 1, 1]);
    await sleep(3100);
    // Past it: one new sample, shared by everyone who asked while it ran.
    assert.deepEqual(await Promise.all(Array.from({ length: 6 }, count)), [2, 2, 2, 2, 2, 2]);
  } finally {
    await srv.stop();
  }
});

test('GET and HEAD only, known paths only, no bodies, bounded headers; / links the rest', async () => {
  const srv = await startServe([...FILTER()]);
  try {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await get(`${srv.url}/metrics`, { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    for (const path of ['/nope', '/metrics/x', '/favicon.ico']) assert.equal((await get(`${srv.url}${path}`)).status, 404, path);
    const head = await get(`${srv.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 1000);
    const page = await get(`${srv.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<a href="metrics">\/metrics<\/a>/);
    assert.match(page.body, /<a href="healthz">\/healthz<\/a>/);
    const health = await get(`${srv.url}/healthz`);
    assert.deepEqual([health.status, health.body], [200, 'ok\n']);
    assert.equal((await get(`${srv.url}/metrics?x=1`)).status, 200, 'a query string is ignored');
    assert.equal((await get(`${srv.url}/metrics`, { headers: { 'Content-Length': '5' }, body: 'hello' })).status, 413);
    assert.equal((await get(`${srv.url}/metrics`, { headers: { 'X-Big': 'x'.repeat(20000) } })).status, 431);
  } finally {
    await srv.stop();
  }
});

test('a client that sends half a request stalls nobody and is dropped after the request timeout', async () => {
  const srv = await startServe([...FILTER(), '--request-timeout', '1s']);
  try {
    const { port } = new URL(srv.url);
    const slow = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    const t0 = Date.now();
    let answer = '';
    slow.on('data', (d) => {
      answer += d;
    });
    const closed = new Promise((r) => slow.once('close', r));
    slow.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the blank line
    // Everyone else is answered meanwhile, promptly.
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      const r = await get(`${srv.url}/metrics`);
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t < 900, `a scrape took ${Date.now() - t} ms next to the slow client`);
    }
    await closed;
    const waited = Date.now() - t0;
    assert.ok(waited >= 900 && waited < 4000, `the slow client was dropped after ${waited} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /, 'told why');
  } finally {
    await srv.stop();
  }
});

test("registerMetrics: the same metrics in a service's own prom-client registry, sampled on its scrapes", async () => {
  const { Registry } = await import('prom-client');
  const registry = new Registry();
  tc.registerMetrics(registry, { dst: HOST, dport: server.port, minInterval: '5s', top: 5 });
  const [a, b] = await Promise.all([registry.metrics(), registry.metrics()]);
  assert.equal(a, b, 'concurrent scrapes: one sample');
  const m = parseExposition(a);
  assert.equal(value(m, 'tcpcensus_sample_duration_seconds_count'), 1);
  assert.equal(value(m, 'tcpcensus_sockets', { state: 'CLOSE_WAIT', family: 'ipv4' }), 9);
  assert.equal(value(m, 'tcpcensus_command_sockets', { state: 'CLOSE_WAIT', command: 'tc-serve-b' }), 4);
  assert.equal(series(m, 'process_resident_memory_bytes').length, 0, 'the service decides about default metrics');
  // @ts-expect-error: the types refuse it too
  assert.throws(() => tc.registerMetrics(new Registry(), { states: ['listen'] }), /states does not apply to registerMetrics/);
  assert.throws(() => tc.registerMetrics(new Registry(), { minInterval: '1' }), /minInterval must be a duration/);
  // @ts-expect-error: the types refuse it too
  assert.throws(() => tc.registerMetrics(new Registry(), { listen: '1' }), /listen does not apply to registerMetrics/);
});

test('bad serve flags exit 2 with one line; a port in use exits 1', async () => {
  for (const [args, msg] of <Array<[string[], RegExp]>>[
    [['--listen', '10.1.2.3'], /^tcpcensus: --listen must be PORT, ADDRESS:PORT or \[IPv6\]:PORT/m],
    [['--listen', '127.0.0.1:70000'], /--listen must be/],
    [['--listen', 'example.com:80'], /--listen must be/],
    [['--listen', '::1:80'], /--listen must be/],
    [['--top', '0'], /^tcpcensus: --top must be an integer from 1 to 10000, got "0"$/m],
    [['--top-processes', 'x'], /--top-processes must be an integer/],
    [['--owner-states', 'nope'], /unknown state "nope"/],
    [['--min-interval', '5'], /--min-interval must be a duration/],
    [['--request-timeout', '0s'], /--request-timeout must be a duration/],
    [['-s', 'listen'], /unknown option '-s'/],
  ]) {
    const r = await h.runCli(['serve', ...args]);
    assert.equal(r.code, 2, `${args}: ${r.code} ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  const srv = await startServe([]);
  try {
    const r = await h.runCli(['serve', '--listen', new URL(srv.url).host]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tcpcensus: listen 127\.0\.0\.1:\d+ failed: Address already in use \(EADDRINUSE\)$/m);
  } finally {
    await srv.stop();
  }
});
