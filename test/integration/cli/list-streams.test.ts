// list streams its rows: 40k sockets listed in a 64 MiB memory cgroup (v1,
// /sys/fs/cgroup/memory) come out whole and valid, as many as ss counts for
// the same quiescent set, exit 0, and the cgroup's peak is a batch's worth
// above listing none, not the socket count's; a failure part-way says so on
// stderr and exits 1. The sockets: 4 processes holding 5000 ESTABLISHED
// loopback pairs each (the fd limit is 20,000 a process) between 127.77.0.1
// and 127.77.0.2-5, which nothing else uses, so the ESTABLISHED set holds
// still (the TIME_WAIT a run leaves behind is filtered out).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const MEMCG = '/sys/fs/cgroup/memory';
const CLI = h.CLI;
const FILTER = ['-s', 'established', '--src', '127.77.0.0/24'];
// Listing 40k sockets may take this much more of the cgroup than listing
// none: a batch, the output buffer and V8's young generation. Holding the
// whole listing took about 22 MiB more for JSON here.
const MAX_GROWTH = 12 * 1024 * 1024;
// With -p the whole dump is held in the addon for the owner join (about 80
// bytes a socket: 3.2 MB at 40k) beside the walk's own buffers.
const MAX_GROWTH_OWNED = 20 * 1024 * 1024;
let holders: h.Fixture[] = [];
let cg: string | undefined;

before(async () => {
  holders = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      h.startFixture(process.execPath, [path.join(h.FIXTURES, 'pairs.js'), `tc-stream-${i}`, '5000', '127.77.0.1', `127.77.0.${2 + i}`], {
        timeoutMs: 120000,
      }),
    ),
  );
  cg = path.join(MEMCG, `tcpcensus-list-stream-${process.pid}`);
  fs.mkdirSync(cg);
  fs.writeFileSync(path.join(cg, 'memory.limit_in_bytes'), '64M');
});
after(async () => {
  await Promise.all(holders.map((x) => x.stop()));
  if (cg) {
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(cg);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
});

// The CLI in the 64 MiB cgroup: the shell moves itself in, then becomes node.
function inCgroup(args: string[]): Promise<h.RunResult & { peak: number }> {
  const dir = cg!;
  fs.writeFileSync(path.join(dir, 'memory.max_usage_in_bytes'), '0');
  return h
    .runNodeArgs([CLI, ...args], { prefix: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir] })
    .then((r) => ({ ...r, peak: Number(fs.readFileSync(path.join(dir, 'memory.max_usage_in_bytes'), 'utf8')) }));
}
const ssCount = () =>
  execFileSync('ss', ['-tanH', 'state', 'established', 'src', '127.77.0.0/24'], { maxBuffer: 1 << 30 })
    .toString()
    .split('\n')
    .filter(Boolean).length;

test('list --json, --ndjson and text at 40k sockets in a 64 MiB memory cgroup: whole, valid, as many as ss, exit 0, a batch of memory', async () => {
  const want = ssCount();
  assert.equal(want, 40000, 'the farm is up');
  const none = await inCgroup(['list', '--json', ...FILTER, '--sport', '1-2']);
  assert.equal(none.stdout, '[\n]\n');
  const json = await inCgroup(['list', '--json', ...FILTER]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as tc.SocketRow[];
  assert.equal(rows.length, want);
  assert.equal(new Set(rows.map((r) => `${r.localAddress}:${r.localPort}>${r.remoteAddress}:${r.remotePort}`)).size, want, 'no row twice');
  const nd = await inCgroup(['list', '--ndjson', ...FILTER]);
  assert.equal(nd.code, 0, nd.stderr);
  const lines = nd.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, want);
  assert.deepEqual(lines, rows, 'NDJSON holds the same rows as the JSON array');
  const text = await inCgroup(['list', ...FILTER]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout.split('\n').filter(Boolean).length, want + 1, 'a header and a line per socket');
  // With owners the dump is joined whole in the addon (about 80 bytes a
  // socket, outside V8's heap), then written row by row the same way.
  const owned = await inCgroup(['list', '-p', '--json', ...FILTER]);
  assert.equal(owned.code, 0, owned.stderr);
  const withPids = JSON.parse(owned.stdout) as tc.SocketRow[];
  assert.equal(withPids.length, want);
  assert.ok(
    withPids.every((r) => r.pid !== null && /^tc-stream-[0-3]$/.test(r.command ?? '')),
    'every row names its holder',
  );
  assert.equal(ssCount(), want, 'the set held still');
  process.stdout.write(
    `# cgroup peak: none ${none.peak >> 10} KiB, json ${json.peak >> 10} KiB, ndjson ${nd.peak >> 10} KiB, text ${text.peak >> 10} KiB, -p json ${owned.peak >> 10} KiB\n`,
  );
  for (const [name, r] of [
    ['json', json],
    ['ndjson', nd],
    ['text', text],
  ] as const) {
    assert.ok(r.peak - none.peak <= MAX_GROWTH, `${name}: ${(r.peak - none.peak) >> 10} KiB more than listing none`);
  }
  assert.ok(owned.peak - none.peak <= MAX_GROWTH_OWNED, `-p json: ${(owned.peak - none.peak) >> 10} KiB more than listing none`);
});

test('a failure part-way through list is said on stderr and exits 1, after the rows already written', async () => {
  // --max-sockets is met after the first batches went out.
  const r = await inCgroup(['list', '--ndjson', '--max-sockets', '10000', ...FILTER]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tcpcensus: more than 10000 sockets match \(--max-sockets\)/);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length > 0 && lines.length <= 10000, `${lines.length} rows before the error`);
  for (const l of lines) JSON.parse(l);
});

test('list -n stops reading the dump once it has its rows', async () => {
  const r = await inCgroup(['list', '--json', '-n', '3000', ...FILTER]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).length, 3000);
});

test("snapshotStream gives snapshot's rows in batches of a few thousand, and stops reading when the caller stops", async () => {
  const opts = { states: ['established'], src: '127.77.0.0/24' };
  const whole = await tc.snapshot(opts);
  assert.equal(whole.length, 40000);
  const key = (r: tc.SocketRow) => `${r.localAddress}:${r.localPort}>${r.remoteAddress}:${r.remotePort}`;
  const want = new Set([...whole].map(key));
  const got = new Set();
  let batches = 0;
  for await (const { table, netns } of tc.snapshotStream(opts)) {
    assert.equal(netns, null);
    assert.ok(table.length <= 4096, `a batch of ${table.length}`);
    for (const r of table) got.add(key(r));
    batches++;
  }
  assert.ok(batches >= 10, `${batches} batches`);
  assert.deepEqual(got, want);
  let seen = 0;
  for await (const { table } of tc.snapshotStream(opts)) {
    seen += table.length;
    break; // closes the dump; the next call works as before
  }
  assert.ok(seen > 0 && seen < 40000);
  assert.equal((await tc.snapshot(opts)).length, 40000);
});

// list writes each JSON row key by key (no second object per row): it must
// stay the row the library gives, every column included, byte for byte.
test("list --ndjson rows are the library's rows as JSON, every column, with pid and command", async () => {
  for (const args of [
    ['-s', 'listen'],
    ['-s', 'listen', '-p'],
  ]) {
    const r = await h.runCli(['list', '--ndjson', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const lines = new Map(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => [JSON.parse(l).inode, l]),
    );
    const table = tc.snapshotSync({ states: ['listen'], processes: args.includes('-p') });
    let compared = 0;
    for (const row of table) {
      const line = lines.get(row.inode);
      if (line === undefined) continue; // a listener that came or went between the two
      assert.equal(line, JSON.stringify({ ...row, pid: row.pid ?? null, command: row.command ?? null }));
      compared++;
    }
    assert.ok(compared >= 1 && compared >= lines.size - 2, `compared ${compared} of ${lines.size} rows`);
  }
});
