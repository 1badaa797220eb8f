// Options and command lines as a careless or hostile caller writes them: a
// polluted Object.prototype, values no check foresaw (BigInt, Proxy, a
// toString that throws), 100 KB arguments and escape sequences, typos and
// an IPv6 address with a port. Each is an OptionError (exit 2 in the CLI)
// naming its option, in one readable line with nothing raw from the input;
// and a real dump shows what each filter means, checked against ss.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import * as h from '../../helpers/index';

const ROOT = h.ROOT;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

function assertOneLine(r: h.RunResult, code: number): string {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 2, `at most the error and the help hint: ${r.stderr.slice(0, 500)}`);
  assert.match(lines[0]!, /^tcpcensus: /);
  assert.ok(lines[0]!.length <= 400, `a readable line, not ${lines[0]!.length} characters`);
  assert.doesNotMatch(r.stderr, CONTROL, 'no control character reaches the terminal');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return lines[0]!;
}

test('options are read from the object itself: a polluted Object.prototype changes no call', async () => {
  const code = `
    const tc = require(${JSON.stringify(ROOT)});
    const server = require('node:net').createServer().listen(0, '127.0.0.1');
    const clean = tc.countStatesSync();
    const cleanTop = tc.topProcessesSync({ states: ['listen'] });
    Object.prototype.states = ['LISTEN'];
    Object.prototype.by = 'user';
    Object.prototype.limit = 1;
    Object.prototype.family = 'ipv6';
    Object.prototype.sport = 1;
    Object.prototype.processes = true;
    (async () => {
      await new Promise((resolve) => server.once('listening', resolve));
      const port = server.address().port;
      const out = {
        sync: Object.keys(tc.countStatesSync().states),
        async: Object.keys((await tc.countStates({})).states),
        clean: Object.keys(clean.states),
        // An IPv4 listener of our own: a family or port filter from the prototype would hide it.
        ourListener: [...tc.snapshotSync({ states: ['listen'] })].filter((r) => r.localPort === port).length,
        ourListenerAsync: [...(await tc.snapshot({ states: ['listen'] }))].filter((r) => r.localPort === port).length,
        top: (({ by, states }) => ({ by, states }))(await tc.topProcesses({ states: ['listen'] })),
        topLimit: tc.topProcessesSync({ states: ['listen'], by: 'local-port' }).rows.length,
        cleanTopRows: cleanTop.rows.length,
        snapshotOwners: tc.snapshotSync({ states: ['listen'] }).owners ?? null,
        sampler: null,
      };
      const s = tc.createSampler({ interval: 100 });
      const first = await s.next();
      out.sampler = Object.keys(first.value.states).length;
      await s.close();
      server.close();
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`;
  const r = await h.runNodeArgs(['-e', code]);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  assert.equal(o.clean.length, 10, 'every state but CLOSE by default');
  assert.deepEqual(o.sync, o.clean);
  assert.deepEqual(o.async, o.clean);
  assert.equal(o.ourListener, 1, 'no family or port filter came through the prototype');
  assert.equal(o.ourListenerAsync, 1);
  assert.deepEqual(o.top, { by: 'process', states: ['LISTEN'] });
  assert.ok(o.topLimit > 1 || o.cleanTopRows <= 1, 'limit did not come from the prototype');
  assert.equal(o.snapshotOwners, null, 'processes did not come from the prototype');
  assert.equal(o.sampler, 10, 'the sampler counts every state but CLOSE');
});

// Values no check was written for. Each call's keys come from its own error
// message ("valid options: ..."), so a new option is covered without edits here.
const HOSTILE = `[
  ['bigint', 5n], ['bigint array', [5n]], ['symbol', Symbol('x')], ['function', () => 1],
  ['throwing toString', { toString() { throw new Error('LEAKED'); } }],
  ['throwing toJSON', { toJSON() { throw new Error('LEAKED'); } }],
  ['throwing getter', Object.defineProperty({}, 'x', { enumerable: true, get() { throw new Error('LEAKED'); } })],
  ['Proxy that throws', new Proxy({}, { get() { throw new Error('LEAKED'); }, ownKeys() { throw new Error('LEAKED'); }, getPrototypeOf() { throw new Error('LEAKED'); } })],
  ['array of throwing toString', [{ toString() { throw new Error('LEAKED'); } }]],
  ['null-prototype object', Object.create(null)], ['cycle', (() => { const a = {}; a.a = a; return a; })()],
  ['NaN', NaN], ['Infinity', Infinity], ['-1', -1], ['1e300', 1e300], ['empty', ''],
  ['100 KB', 'x'.repeat(100000)], ['escape sequence', '\\x1b]0;pwned\\x07\\x1b[2J'], ['null', null], ['date', new Date(0)],
  ['array of arrays', [[['deep']]]], ['sparse array', [, , 1]],
]`;

test('every bad value of every option of every call is an OptionError naming that option, short and escaped', async () => {
  const code = `
    const { buildRequest } = require(${JSON.stringify(path.join(ROOT, 'dist', 'request/options.js'))});
    const calls = ['countStates', 'topProcesses', 'snapshot', 'topCgroupsByState', 'createSampler', 'registerMetrics', 'serve'];
    const values = ${HOSTILE};
    const bad = [];
    let checked = 0;
    for (const call of calls) {
      let keys;
      try { buildRequest(call, { zzzzzzzz: 1 }); } catch (e) { keys = /valid options: (.*)$/.exec(e.message)[1].split(', '); }
      for (const key of keys) for (const [what, value] of values) {
        checked++;
        try { buildRequest(call, { [key]: value }); continue; } catch (e) {
          const why = e.name !== 'OptionError' ? 'a ' + e.name + ': ' + e.message
            : e.option !== key ? 'option ' + e.option : /LEAKED/.test(e.message) ? 'the value\\'s own error'
            : e.message.length > 400 ? e.message.length + ' characters' : /[\\x00-\\x1f\\x7f-\\x9f]/.test(e.message) ? 'a control character' : null;
          if (why) bad.push(call + ' ' + key + ' = ' + what + ': ' + why + ' (' + String(e.message).slice(0, 120) + ')');
        }
      }
    }
    for (const [what, value] of values) {
      if (what === 'null' || what === 'null-prototype object' || what === 'cycle' || what === 'throwing toJSON' || what === 'throwing toString' || what === 'date' || what === 'throwing getter') continue;
      try { buildRequest('countStates', value); } catch (e) { if (e.name !== 'OptionError') bad.push('options = ' + what + ': a ' + e.name); }
    }
    try { buildRequest('countStates', new Proxy({}, { ownKeys() { throw new Error('LEAKED'); } })); bad.push('a Proxy options object was accepted'); }
    catch (e) { if (e.name !== 'OptionError' || /LEAKED/.test(e.message)) bad.push('options = Proxy: ' + e.name + ' ' + e.message); }
    process.stdout.write(JSON.stringify({ bad, checked }));`;
  const r = await h.runNodeArgs(['-e', code]);
  assert.equal(r.code, 0, r.stderr);
  const { bad, checked } = JSON.parse(r.stdout);
  assert.ok(checked > 500, `checked ${checked} values`);
  assert.deepEqual(bad, []);
});

test('the library names the key in OptionError for a BigInt limit, and a throwing toString never leaks', async () => {
  const code = `
    const tc = require(${JSON.stringify(ROOT)});
    const out = [];
    for (const [fn, o] of [['topProcessesSync', { limit: 5n }], ['countStatesSync', { states: { toString() { throw new Error('LEAKED'); } } }],
      ['snapshotSync', { sport: { toString() { throw new Error('LEAKED'); } } }], ['topProcessesSync', { by: { toString() { throw new Error('LEAKED'); } } }]]) {
      try { tc[fn](o); out.push(fn + ': no error'); } catch (e) { out.push([e.name, e.option, e.message]); }
    }
    process.stdout.write(JSON.stringify(out));`;
  const r = await h.runNodeArgs(['-e', code]);
  assert.equal(r.code, 0, r.stderr);
  const [limit, states, sport, by] = JSON.parse(r.stdout);
  assert.deepEqual(limit, ['OptionError', 'limit', 'limit must be an integer from 1 to 2147483647, got 5n']);
  assert.deepEqual(states.slice(0, 2), ['OptionError', 'states']);
  assert.deepEqual(sport.slice(0, 2), ['OptionError', 'sport']);
  assert.deepEqual(by.slice(0, 2), ['OptionError', 'by']);
  for (const e of [states, sport, by]) assert.doesNotMatch(e[2], /LEAKED/);
});

test('an echoed argument is cut and escaped: a 100 KB --sport, an escape sequence in --netns, --proc and --state', async () => {
  const long = await h.runCli(['states', '--sport', '1'.repeat(100000)]);
  assert.match(assertOneLine(long, 2), /^tcpcensus: --sport "1{64}\.\.\. \(100000 characters\)" is not a port/);
  for (const args of [
    ['states', '--netns', '\x1b]0;pwned\x07'],
    ['top', '--proc', '/tmp/\x1b[2J'],
    ['states', '-s', 'close\x1b[31m'],
    ['top', '--by', '\x1b]0;x\x07'],
    ['states', '--cgroup', '/\x1b]0;x\x07'],
    ['\x1b]0;x\x07'],
    ['top', '--\x1b[2Jx'],
  ]) {
    const r = await h.runCli(args);
    assertOneLine(r, 2);
    assert.match(r.stderr, /\\x1b/, `the escape is shown escaped for ${JSON.stringify(args)}`);
  }
});

test('unknown options and commands start "tcpcensus:" and suggest the near word, as every other error does', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['top', '--by', 'proc'], /^tcpcensus: unknown grouping "proc" \(did you mean process\?\); valid: process, command/],
    [['top', '--stat', 'close-wait'], /^tcpcensus: unknown option '--stat' \(did you mean --state\?\)$/],
    [['--bogus'], /^tcpcensus: unknown option '--bogus'$/],
    [['tpo'], /^tcpcensus: unknown command 'tpo' \(did you mean top\?\); commands: /],
    [['top', '--owners', 'bfp'], /^tcpcensus: unknown owner source "bfp" \(did you mean bpf\?\)/],
    [['states', '--sport'], /^tcpcensus: option '--sport <port>' argument missing$/],
  ];
  for (const [args, line] of cases) assert.match(assertOneLine(await h.runCli(args), 2), line, args.join(' '));
});

let server: net.Server;
const clients: net.Socket[] = [];
before(async () => {
  server = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  for (let i = 0; i < 3; i++) {
    const c = net.connect({ host: '::1', port: (server.address() as net.AddressInfo).port });
    await new Promise((resolve) => c.once('connect', resolve));
    clients.push(c);
  }
});
after(() => {
  for (const c of clients) c.destroy();
  server?.close();
});

test('an IPv6 address that looks like it carries a port is refused with both spellings; [::1]:PORT filters like ss', async () => {
  const port = (server.address() as net.AddressInfo).port;
  // 443 is also a hex group, so ::1:443 is an address too; 5 decimal digits above ffff are none.
  const ambiguous = await h.runCli(['states', '--src', '::1:443']);
  assert.equal(
    assertOneLine(ambiguous, 2),
    'tcpcensus: --src "::1:443" looks like address ::1 with port 443: write [::1]:443 (or the address alone and --sport 443); for the address ::1:443 itself write [::1:443]',
  );
  const notAddress = await h.runCli(['states', '--src', '::1:65535']);
  assert.equal(
    assertOneLine(notAddress, 2),
    'tcpcensus: --src "::1:65535" looks like address ::1 with port 65535: write [::1]:65535 (or the address alone and --sport 65535)',
  );
  const lib = await h.callLibrary('countStates', { dst: `::1:${port}` });
  assert.equal(lib.error.option, 'dst');
  assert.match(lib.error.message, /and dport \d+\)/);
  // The port form is the kernel's host condition with a port, as ss compiles `src [::1]:PORT`.
  for (const [flag, ssWord] of [
    ['--src', 'src'],
    ['--dst', 'dst'],
  ]) {
    const { oracle, mine } = await h.stable(
      () => h.ssCounts([ssWord!, `[::1]:${port}`]),
      async () => {
        const r = await h.runCli(['states', '--json', flag!, `[::1]:${port}`]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout).states as Record<string, number>;
      },
    );
    const nonZero = Object.fromEntries(Object.entries(mine).filter(([, n]) => n > 0));
    assert.deepEqual(nonZero, oracle, flag);
    assert.equal(
      Object.values(oracle).reduce((a, b) => a + b, 0),
      flag === '--src' ? 4 : 3,
      `${flag}: the listener and its accepted ends, or the clients`,
    );
  }
  // The address ::1:PORT itself, bracketed, is an address: nothing holds it.
  const literal = await h.runCli(['states', '--json', '--src', '[::1:443]']);
  assert.equal(literal.code, 0, literal.stderr);
  assert.equal(JSON.parse(literal.stdout).total, 0);
});
