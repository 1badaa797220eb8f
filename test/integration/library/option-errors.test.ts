// Bad input to every option gets an OptionError that names the valid values,
// from both the async (rejected promise) and the sync forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tc from '../../../src/index';
import type * as h from '../../helpers/index';

// The library as a JavaScript caller meets it: any function by name, any options.
const lib = tc as unknown as Record<string, (options: unknown) => unknown>;

const CASES: Array<[string, unknown, RegExp]> = [
  // [function name, options, message pattern]
  ['countStates', { states: ['bogus'] }, /unknown state "bogus"; valid states: ESTABLISHED, SYN_SENT.*CLOSING.*groups: all, connected/],
  ['countStates', { states: 'CLOSE_WAIT' }, /states must be an array/],
  ['countStates', { states: [] }, /no state given/],
  ['countStates', { states: [42] }, /state must be a string/],
  ['countStates', { family: 'ipv5' }, /unknown family "ipv5" \(did you mean ipv4\?\); valid families: ipv4, ipv6, all/],
  ['countStates', 'CLOSE_WAIT', /options must be an object/],
  ['topProcesses', { limit: 0 }, /^limit must be an integer from 1 to 2147483647, got 0$/],
  ['topProcesses', { limit: -3 }, /^limit must be an integer from 1 to 2147483647, got -3$/],
  ['topProcesses', { limit: 2.5 }, /^limit must be an integer from 1 to 2147483647, got 2.5$/],
  ['topProcesses', { limit: '10' }, /^limit must be an integer from 1 to 2147483647, got "10"$/],
  ['topProcesses', { limit: 2 ** 31 }, /^limit must be an integer from 1 to 2147483647, got 2147483648$/],
  ['topProcesses', { maxSockets: 0 }, /^maxSockets must be an integer from 1 to 2147483647, got 0$/],
  ['snapshot', { maxSockets: 1e21 }, /^maxSockets must be an integer from 1 to 2147483647, got 1e\+21$/],
  ['countStates', { pids: [] }, /^pids must be a non-empty array of process ids, got \[\]$/],
  ['countStates', { pids: [0] }, /^pids must be an integer from 1 to 2147483647, got 0$/],
  ['countStates', { pids: '123' }, /^pids must be a non-empty array of process ids, got "123"$/],
  ['countStates', { procRoot: '' }, /^procRoot must be a directory path$/],
  ['topProcesses', { onProgress: true }, /^onProgress must be a function$/],
  ['topProcesses', { by: 'host' }, /^unknown grouping "host"; valid: process, command, remote, remote-host, local-port, user, cgroup$/],
  ['snapshot', { sport: 70000 }, /^sport "70000" is not a port from 0 to 65535/],
  ['topProcesses', { threads: 0 }, /threads must be an integer from 1 to 8/],
  ['topProcesses', { threads: 9 }, /threads must be an integer from 1 to 8/],
  ['topProcesses', { states: ['close_wat'] }, /unknown state "close_wat"/],
  ['topProcesses', { family: 4 }, /unknown family 4; valid families/],
  ['snapshot', { processes: 'yes' }, /processes must be true or false/],
  ['snapshot', { threads: 'two' }, /threads must be an integer/],
  ['snapshot', { states: ['LISTEN', 'nope'] }, /unknown state "nope"/],
  [
    'countStates',
    { netns: 'no spaces' },
    /^netns "no spaces" is not a namespace name \(letters, digits, '\.', '_', '-'\), a path such as \/proc\/1234\/ns\/net, or pid:PID$/,
  ],
  ['countStates', { netns: 'pid:x' }, /^netns "pid:x" is not a namespace name/],
  ['countStates', { netns: 'pid:0' }, /^netns "pid:0" is not a namespace name/],
  ['topProcesses', { netns: '' }, /^netns "" is not a namespace name/],
  ['snapshot', { netns: 7 }, /^netns 7 is not a namespace name/],
  ['countStates', { allNetns: 'yes' }, /^allNetns must be true or false$/],
  ['countStates', { allNetns: true, netns: 'x' }, /^allNetns cannot be combined with netns: allNetns already looks in every namespace$/],
  [
    'topProcesses',
    { allNetns: true, pids: [1] },
    /^pids cannot be combined with allNetns: a process's sockets are in its own namespace; give netns "pid:PID" instead$/,
  ],
  ['countStates', { cgroup: [] }, /^cgroup must be a cgroup path such as \/system\.slice\/nginx\.service, or a non-empty array of them, got \[\]$/],
  ['countStates', { cgroup: 5 }, /^cgroup must be a cgroup path/],
  [
    'countStates',
    { cgroup: ['/'], source: 'procfs' },
    /^source "procfs" cannot filter by cgroup: \/proc\/net\/tcp has no cgroup ids; use source auto or netlink$/,
  ],
  ['topProcesses', { by: 'cgroup', source: 'procfs' }, /^source "procfs" cannot group sockets by cgroup: \/proc\/net\/tcp has no cgroup ids/],
  ['topCgroupsByState', { source: 'procfs' }, /^source "procfs" cannot group sockets by cgroup/],
  ['topCgroupsByState', { limit: 0 }, /^limit must be an integer from 1 to 2147483647, got 0$/],
  [
    'topCgroupsByState',
    { pids: [1] },
    /^pids does not apply to topCgroupsByState; valid options: states, family, sport, dport, src, dst, source, netns, cgroup, maxSockets, limit$/,
  ],
  ['topCgroupsByState', { allNetns: true }, /^allNetns does not apply to topCgroupsByState/],
  ['topCgroupsByState', { by: 'process' }, /^by does not apply to topCgroupsByState/],
];

for (const [fn, opts, pattern] of CASES) {
  test(`${fn}(${JSON.stringify(opts)}) is refused`, async () => {
    await assert.rejects(lib[fn]!(opts) as Promise<unknown>, (err: h.Thrown) => {
      assert.ok(err instanceof tc.OptionError, `${err} is an OptionError`);
      assert.equal(err.code, 'ERR_TCPCENSUS_OPTION');
      assert.match(err.message, pattern);
      return true;
    });
    assert.throws(
      () => lib[`${fn}Sync`]!(opts),
      (err: h.Thrown) => err instanceof tc.OptionError && pattern.test(err.message),
    );
  });
}

test('state names are accepted in netstat and ss spellings, any case, comma-separated, and as ss groups', async () => {
  const names = (states: string[] | undefined) => Object.keys(tc.countStatesSync({ states }).states);
  assert.deepEqual(names(['close-wait']), ['CLOSE_WAIT']);
  assert.deepEqual(names(['CLOSE_WAIT']), ['CLOSE_WAIT']);
  assert.deepEqual(names(['estab,syn-recv', 'Fin-Wait-1']), ['ESTABLISHED', 'SYN_RECV', 'FIN_WAIT1']);
  assert.deepEqual(names(['listening', 'time-wait', 'closed']), ['TIME_WAIT', 'CLOSE', 'LISTEN']);
  assert.deepEqual(names(['bucket']), ['SYN_RECV', 'TIME_WAIT']);
  assert.deepEqual(names(['connected']), [
    'ESTABLISHED',
    'SYN_SENT',
    'SYN_RECV',
    'FIN_WAIT1',
    'FIN_WAIT2',
    'TIME_WAIT',
    'CLOSE_WAIT',
    'LAST_ACK',
    'CLOSING',
  ]);
  assert.deepEqual(names(['synchronized']), ['ESTABLISHED', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING']);
  assert.deepEqual(names(['big']), ['ESTABLISHED', 'SYN_SENT', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING']);
  assert.equal(names(['all']).length, 11);
  assert.deepEqual(
    names(undefined),
    tc.STATE_NAMES.filter((s) => s !== 'CLOSE'),
  );
});

test('SocketTable.row refuses rows outside the table', () => {
  const t = tc.snapshotSync({ states: ['LISTEN'] });
  assert.throws(() => t.row(t.length), RangeError);
  assert.throws(() => t.row(-1), RangeError);
});
