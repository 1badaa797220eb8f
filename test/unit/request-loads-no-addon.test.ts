/**
 * src/request/ turns options into a request and loads no addon (issue 17,
 * STYLE.md "request/ ... loads no addon"): the option checks must work, and
 * be testable, where the native addon cannot be loaded. Checked two ways
 * after importing every module there: Node's module cache holds no *.node
 * file and not src/core/addon, and the process's own memory map
 * (proc_pid_maps(5), /proc/self/maps) holds no tcpcensus.node.
 * node --test runs each file in its own process, so nothing else here has
 * loaded anything first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';

import * as options from '../../src/request/options';
import * as states from '../../src/request/states';
import * as duration from '../../src/request/duration';
import * as filter from '../../src/request/filter';
import * as cgroupFilter from '../../src/request/cgroup-filter';
import * as cgroupMount from '../../src/request/cgroup-mount';
import * as procMount from '../../src/request/proc-mount';

test('importing every src/request module puts no native addon in the module cache', () => {
  // Touch each namespace so no bundler or loader could drop an import as unused.
  for (const m of [options, states, duration, filter, cgroupFilter, cgroupMount, procMount]) assert.ok(Object.keys(m).length > 0);
  const loaded = Object.keys(require.cache);
  assert.ok(
    loaded.some((f) => f.endsWith(`${sep}request${sep}options.ts`)),
    'options.ts itself is in the cache (the check looks at the right cache)',
  );
  assert.deepEqual(
    loaded.filter((f) => f.endsWith('.node')),
    [],
  );
  assert.deepEqual(
    loaded.filter((f) => /[\\/]core[\\/]addon\.[jt]s$/.test(f)),
    [],
  );
});

test('no tcpcensus.node is mapped into this process (proc_pid_maps(5))', () => {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  assert.equal(maps.split('\n').filter((l) => l.includes('tcpcensus.node')).length, 0);
});

test('the pure parsers answer without the addon: states and durations', () => {
  // A sanity check that the imports above are the working modules, not stubs.
  assert.equal(states.parseStates(['close-wait']), 1 << 8);
  assert.equal(duration.parseDuration('1s', 'interval', 10), 1000);
});
