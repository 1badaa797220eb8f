// tcpcensus serve under hostile clients and what it tells: a
// pipelining flood that never reads leaves RSS and fds bounded, /healthz and
// /metrics answered, and SIGTERM obeyed within 2 s; a client that stops
// reading is cut; pipelined requests are answered in order; a slowloris of
// 200 connections does not lock scrapers out; --top-processes 0 drops the
// per-process series; a warning when listening beyond loopback; as nobody,
// the eBPF fallback said once on stderr and in
// tcpcensus_owner_source_fallback. All on real loopback sockets against the
// built CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import * as h from '../../helpers/index';
import { startServe } from '../../helpers/serve';
import * as a from '../../../harness/serve-attacks';

/** Starts `tcpcensus serve`; resolves {url, port, child, stderr(), term()}. */
/** Whether the server side of one connection (server port, client port) is ESTABLISHED (ss). */
function established(port: number, clientPort: number): number {
  const r = spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} and dport = :${clientPort} )`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).length;
}

test('a pipelining flood that never reads: RSS and fds bounded, /healthz and /metrics answered during and after, SIGTERM within 2 s', async () => {
  const srv = await startServe();
  try {
    assert.equal((await a.scrape(`${srv.url}/metrics`)).status, 200);
    const base = a.usage(srv.child.pid!)!;
    const watch = a.watchUsage(srv.child.pid, 50);
    // 10 connections of 20,000 pipelined GET /metrics each (6.6 MB), never read.
    const flood = await a.pipeliningFlood(srv.port, { connections: 10, requests: 20000 });
    const metrics = a.scrapeEvery(`${srv.url}/metrics`, 500, 2000);
    const health = a.scrapeEvery(`${srv.url}/healthz`, 500, 2000);
    await a.sleep(4000);
    const m = await metrics.stop();
    const hz = await health.stop();
    assert.equal(m.answered, m.asked, `scrapes during the flood: ${JSON.stringify(m)}`);
    assert.equal(hz.answered, hz.asked, `/healthz during the flood: ${JSON.stringify(hz)}`);
    // Today's tree: thousands of fds (host limits read per request) and hundreds of MB.
    const peak = watch.stop();
    assert.ok(peak.fds <= base.fds + 2 * 10 + 20, `fds ${base.fds} -> ${peak.fds}`);
    assert.ok(peak.rss - base.rss < 80 * 1048576, `RSS ${base.rss >> 20} -> ${peak.rss >> 20} MB`);
    // SIGTERM with the flood still connected.
    const t = await srv.term();
    assert.deepEqual([t.code, t.signal], [0, null], `exit under the flood: ${JSON.stringify(t)}`);
    assert.ok(t.ms < 2000, `SIGTERM took ${t.ms} ms`);
    flood.stop();
  } finally {
    await srv.term();
  }
});

test('/healthz answers at once after a flood left', async () => {
  const srv = await startServe();
  try {
    const flood = await a.pipeliningFlood(srv.port, { connections: 3, requests: 20000 });
    await a.sleep(1500);
    flood.stop();
    await a.sleep(300);
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await a.scrape(`${srv.url}/healthz`, 1000);
      assert.equal(r.status, 200, `after the flood: ${JSON.stringify(r)}`);
      assert.ok(Date.now() - t0 < 1000);
    }
  } finally {
    await srv.term();
  }
});

test('pipelined requests are answered in order; a client that stops reading is cut after the request timeout (a regression guard: it held before serve was hardened against hostile clients too)', async () => {
  const srv = await startServe(['--request-timeout', '1s']);
  try {
    // An honest pipeliner: three requests at once, all answered in order.
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let text = '';
    s.on('data', (d) => {
      text += d;
    });
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
    const closed = new Promise((r) => s.once('close', r));
    await closed; // the 404 closes the connection
    assert.deepEqual(text.match(/^HTTP\/1\.1 \d+/gm), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 404']);
    assert.match(text, /^ok\r?$/m);
    assert.match(text, /tcpcensus_sockets\{/);

    // Requests split anywhere, the blank line too, across writes: each answered once.
    // And a stray CRLF between them (RFC 9112 section 2.2 lets a server skip it).
    for (const [two, cut] of [20, 30, 31, 32, 33, 34, 40, 'crlf 34', 'crlf 36'].map((x): [string, number] =>
      typeof x === 'number'
        ? ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', x]
        : ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', Number(x.slice(5))],
    )) {
      const c = net.connect(srv.port, '127.0.0.1');
      await new Promise((r) => c.once('connect', r));
      let got = '';
      c.on('data', (d) => {
        got += d;
      });
      c.write(two.slice(0, cut));
      await a.sleep(50);
      c.write(two.slice(cut));
      for (let i = 0; i < 40 && (got.match(/^HTTP\/1\.1 200/gm) ?? []).length < 2; i++) await a.sleep(25);
      assert.equal((got.match(/^HTTP\/1\.1 200/gm) ?? []).length, 2, `cut at ${cut}: ${JSON.stringify(got)}`);
      c.destroy();
    }

    // A client that pipelines 16 scrapes with a 4 KiB receive buffer and
    // never reads (python: node cannot set SO_RCVBUF before connecting): the
    // answers fill the kernel's buffers, one does not drain, and it is cut.
    const stuck = spawn(
      'python3',
      [
        '-c',
        [
          'import socket, sys, time',
          's = socket.socket()',
          's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
          `s.connect(("127.0.0.1", ${srv.port}))`,
          's.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * 16)',
          'print(s.getsockname()[1], flush=True)',
          'time.sleep(60)',
        ].join('\n'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const clientPort = Number(await new Promise((r) => stuck.stdout.once('data', r)));
    try {
      await a.sleep(300);
      assert.equal(established(srv.port, clientPort), 1, 'the stuck client is connected');
      let gone = false;
      for (let i = 0; i < 40 && !gone; i++) {
        await a.sleep(250);
        gone = established(srv.port, clientPort) === 0;
      }
      assert.ok(gone, 'a client that stopped reading is cut');
    } finally {
      stuck.kill();
    }
    assert.equal((await a.scrape(`${srv.url}/healthz`)).status, 200);
  } finally {
    await srv.term();
  }
});

test('slowloris: 200 connections dripping a header do not lock scrapers out (>= 90% of scrapes once a second answered)', async () => {
  const srv = await startServe();
  try {
    const loris = a.slowloris(srv.port, { connections: 200, dripMs: 500 });
    await a.sleep(1500);
    assert.ok(loris.live() >= 128, `the attack holds ${loris.live()} connections`);
    const scrapes = a.scrapeEvery(`${srv.url}/metrics`, 1000, 2000);
    await a.sleep(15000);
    const r = await scrapes.stop();
    const attack = await loris.stop();
    assert.ok(
      r.answered >= 0.9 * r.asked,
      `answered ${r.answered} of ${r.asked} scrapes: ${JSON.stringify(r.failures)}; attack ${JSON.stringify(attack)}`,
    );
    assert.equal((await a.scrape(`${srv.url}/healthz`)).status, 200);
  } finally {
    await srv.term();
  }
});

test('--top-processes 0: no per-process series; the commands stay', async () => {
  const server = await h.startHalfCloser('127.0.0.74');
  const holder = await h.startCwClient('tc-serve-nopid', '127.0.0.74', server.port, 2);
  const srv = await startServe(['--dst', '127.0.0.74', '--top-processes', '0']);
  try {
    const r = await a.scrape(`${srv.url}/metrics`);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.body, /tcpcensus_process_sockets/);
    assert.doesNotMatch(r.body, new RegExp(`pid="${holder.info.pid}"`));
    assert.match(r.body, /^tcpcensus_command_sockets\{state="CLOSE_WAIT",command="tc-serve-nopid"\} 2$/m);
  } finally {
    await srv.term();
    await holder.stop();
    await server.close();
  }
  const bad = await h.runCli(['serve', '--top-processes', '-1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^tcpcensus: --top-processes must be an integer from 0 to 10000, got "-1"$/m);
});

test('a warning on stderr when --listen is beyond loopback, none on loopback', async () => {
  const WARN =
    /^tcpcensus: warning: listening on http:\/\/0\.0\.0\.0:\d+, beyond loopback: whoever reaches it sees the pid and command of every socket's owner; restrict it \(a firewall, systemd IPAddressAllow=\) or turn the per-process series off with --top-processes 0$/m;
  const wide = await startServe([], { listen: '0.0.0.0:0' });
  const wideErr = wide.stderr();
  await wide.term();
  assert.match(wideErr, WARN);
  for (const listen of ['127.0.0.1:0', '127.0.0.9:0', '[::1]:0', '0']) {
    const srv = await startServe([], { listen });
    const err = srv.stderr();
    await srv.term();
    assert.doesNotMatch(err, /warning/, listen);
  }
});

test('as nobody (no CAP_BPF): serve says once why the eBPF owner source fell back, and tcpcensus_owner_source_fallback{reason} says it', async () => {
  const srv = await startServe(['--min-interval', '0s'], { prefix: h.AS_NOBODY });
  try {
    const first = await a.scrape(`${srv.url}/metrics`);
    const second = await a.scrape(`${srv.url}/metrics`);
    assert.equal(first.status, 200);
    for (const body of [first.body, second.body]) {
      assert.match(body, /^tcpcensus_owner_source\{source="proc"\} 1$/m);
      assert.match(body, /^tcpcensus_owner_source_fallback\{reason="bpf\(BPF_[A-Z_]+\) failed: Operation not permitted \(EPERM\)"\} 1$/m);
    }
    assert.match(second.body, /^tcpcensus_sample_duration_seconds_count 2$/m, 'two samples');
    await a.sleep(200);
    const said = srv.stderr().match(/^tcpcensus: the eBPF owner source could not be used: .*$/gm) ?? [];
    assert.equal(said.length, 1, srv.stderr());
    assert.match(
      said[0],
      /^tcpcensus: the eBPF owner source could not be used: bpf\(BPF_[A-Z_]+\) failed: Operation not permitted \(EPERM\); owners come from the \/proc walk$/,
    );
  } finally {
    await srv.term();
  }
  // As root the iterator answers: no fallback series.
  const root = await startServe();
  try {
    const r = await a.scrape(`${root.url}/metrics`);
    assert.match(r.body, /^tcpcensus_owner_source\{source="bpf"\} 1$/m);
    assert.doesNotMatch(r.body, /^tcpcensus_owner_source_fallback\{/m);
  } finally {
    await root.term();
  }
});
