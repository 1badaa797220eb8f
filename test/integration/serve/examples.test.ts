// examples/: the Prometheus config and alert rules pass promtool
// (check and its unit tests of the rules), the systemd unit passes
// systemd-analyze verify, each when the tool is installed; the rules use
// metrics serve really exports; and the unit's claim holds: a user of its
// own with just the unit's ambient capabilities sees every owner root sees,
// and with either one missing it does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import * as tc from '../../../src/index';
import * as h from '../../helpers/index';

const EX = path.join(h.ROOT, 'examples');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

test('promtool accepts the scrape config and the alert rules, and the rules pass their unit tests', (t) => {
  if (!has('promtool')) return t.skip('promtool is not installed (apt-get install prometheus)');
  const run = (...args: string[]) => spawnSync('promtool', args, { cwd: EX, encoding: 'utf8' });
  for (const args of [
    ['check', 'config', 'prometheus.yml'],
    ['check', 'rules', 'tcpcensus-alerts.yml'],
    ['test', 'rules', 'tcpcensus-alerts.test.yml'],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
  // And promtool does fail a broken rule file, so the check means something.
  const dir = h.tempDir();
  try {
    fs.writeFileSync(
      path.join(dir, 'bad.yml'),
      fs.readFileSync(path.join(EX, 'tcpcensus-alerts.yml'), 'utf8').replace('min_over_time(', 'min_over_time(('),
    );
    assert.notEqual(spawnSync('promtool', ['check', 'rules', path.join(dir, 'bad.yml')]).status, 0);
  } finally {
    h.removeTempDir(dir);
  }
});

test('the alert rules use metrics that serve exports, with those labels', async () => {
  const rules = fs.readFileSync(path.join(EX, 'tcpcensus-alerts.yml'), 'utf8');
  const registry = new Registry();
  tc.registerMetrics(registry, { sport: holder.info.port });
  const text = await registry.metrics();
  for (const name of new Set(rules.match(/tcpcensus_[a-z_]+/g))) assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} is exported`);
  for (const limit of rules.matchAll(/limit="([a-z_]+)"/g)) assert.match(text, new RegExp(`^tcpcensus_host_limit\\{limit="${limit[1]}"\\}`, 'm'));
});

test('systemd-analyze verify accepts the unit', (t) => {
  if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed');
  const dir = h.tempDir();
  try {
    // verify wants the program to exist: point it at this checkout's CLI.
    const unit = fs.readFileSync(path.join(EX, 'tcpcensus.service'), 'utf8').replace('/usr/local/bin/tcpcensus', h.CLI);
    fs.writeFileSync(path.join(dir, 'tcpcensus.service'), unit);
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'tcpcensus.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /tcpcensus\.service/, r.stderr);
    fs.writeFileSync(path.join(dir, 'tcpcensus.service'), unit.replace('DynamicUser=yes', 'DynamicUser=perhaps'));
    const bad = spawnSync('systemd-analyze', ['verify', path.join(dir, 'tcpcensus.service')], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'verify does fail a bad unit');
    assert.match(bad.stderr, /Failed to parse boolean value: perhaps/);
  } finally {
    h.removeTempDir(dir);
  }
});

let holder: h.Fixture;
before(async () => {
  holder = await h.startHolder('tc-ex-root', 6);
});
after(async () => {
  await holder?.stop();
});

test("the unit's capabilities are the least that see every owner: a user of its own sees what root sees", async () => {
  const unit = fs.readFileSync(path.join(EX, 'tcpcensus.service'), 'utf8');
  const caps = /^AmbientCapabilities=(.*)$/m
    .exec(unit)![1]!
    .trim()
    .split(/\s+/)
    .map((c) => c.replace(/^CAP_/, '').toLowerCase());
  assert.deepEqual(caps.sort(), ['dac_read_search', 'sys_ptrace']);
  assert.equal(/^CapabilityBoundingSet=(.*)$/m.exec(unit)![1]!.trim(), /^AmbientCapabilities=(.*)$/m.exec(unit)![1]!.trim());
  const asUser = (c: string[]) => [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    `--inh-caps=${c.map((x) => `+${x}`).join(',') || '-all'}`,
    ...(c.length ? [`--ambient-caps=${c.map((x) => `+${x}`).join(',')}`] : []),
  ];
  const top = async (prefix: string[] | null) => {
    const r = await h.runCli(['top', '--json', '--sport', String(holder.info.port)], prefix ? { prefix } : {});
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const root = await top(null);
  assert.deepEqual(
    root.rows.map((r: h.JsonRow) => [r.pid, r.count]),
    [[holder.info.pid, 6]],
  );
  const unitView = await top(asUser(caps));
  assert.deepEqual(unitView.rows, root.rows, "the unit's user sees the root-owned holder");
  // Whole host: as many unreadable processes as root has (those a security module keeps from root too).
  const all = async (prefix: string[] | null) =>
    JSON.parse((await h.runCli(['top', '--json', '-s', 'all'], prefix ? { prefix } : {})).stdout).unreadableProcesses;
  const [rootUnreadable, unitUnreadable] = [await all(null), await all(asUser(caps))];
  assert.ok(unitUnreadable <= rootUnreadable + 2, `the unit's user could not read ${unitUnreadable} processes, root ${rootUnreadable}`);
  for (const missing of caps) {
    const fewer = await top(asUser(caps.filter((c) => c !== missing)));
    assert.deepEqual(fewer.rows, [], `without ${missing} the holder's owner is not seen`);
    assert.equal(fewer.unattributed, 6);
  }
});
