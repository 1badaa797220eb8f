/**
 * src/request/duration.ts: durations as Prometheus and Go write them
 * (a number and a unit: ms, s, m, h; Go time.ParseDuration, Prometheus
 * <duration>), in whole milliseconds, bounded by setTimeout's own limit
 * (2^31-1 ms: Node's timers docs, "delay ... larger than 2147483647 ... set
 * to 1"). A bare number in text is refused (seconds or milliseconds?); a
 * number value is milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatDuration, MAX_DELAY_MS, parseDuration } from '../../src/request/duration';
import { OptionError } from '../../src/errors';

const ms = (v: unknown, min = 0, max?: number) => parseDuration(v, 'interval', min, max);

test('each unit: ms, s, m, h', () => {
  assert.equal(ms('250ms'), 250);
  assert.equal(ms('1s'), 1000);
  assert.equal(ms('2m'), 120_000);
  assert.equal(ms('1h'), 3_600_000);
});

test('fractions that come to whole milliseconds, and spaces around the parts', () => {
  assert.equal(ms('1.5s'), 1500);
  assert.equal(ms('0.25s'), 250);
  assert.equal(ms('0.001s'), 1);
  assert.equal(ms('1.5m'), 90_000);
  assert.equal(ms(' 2 s '), 2000);
});

test('a number value is milliseconds, as setTimeout takes it', () => {
  assert.equal(ms(1500), 1500);
  assert.equal(ms(0), 0);
});

test('a bare number in text, an unknown unit, and other values are refused', () => {
  for (const bad of ['1', '1000', '1sec', '1d', '1us', '-1s', '+1s', '1e3ms', 's', '', '1.s', null, undefined, true, {}, [1000], 1000n]) {
    assert.throws(
      () => ms(bad),
      (e: unknown) => e instanceof OptionError && e.option === 'interval',
      String(bad),
    );
  }
});

test('less than a whole millisecond, fractional numbers and NaN are refused', () => {
  for (const bad of ['0.5ms', '1.0005s', 1.5, NaN, Infinity, -1]) {
    assert.throws(() => ms(bad), OptionError, String(bad));
  }
});

test("bounds: the minimum, the maximum and setTimeout's 2^31-1 ms by default", () => {
  assert.equal(MAX_DELAY_MS, 2_147_483_647);
  assert.equal(ms('10ms', 10), 10);
  assert.throws(() => ms('9ms', 10), /interval must be a duration such as 500ms, 1s or 2m, from 10ms to 24 days, got "9ms"/);
  assert.equal(ms(MAX_DELAY_MS), MAX_DELAY_MS);
  assert.throws(() => ms(MAX_DELAY_MS + 1), OptionError);
  assert.throws(() => ms('25d'), OptionError);
  assert.throws(() => ms('1000h'), OptionError, '3.6e9 ms is past the bound');
  assert.throws(() => ms('2m', 0, 60_000), /from 0s to 60s, got "2m"/);
});

test('the message names the key it was given and echoes the value escaped', () => {
  assert.throws(
    () => parseDuration('1\x1b[2J', 'minInterval', 0),
    (e: unknown) =>
      e instanceof OptionError &&
      e.option === 'minInterval' &&
      e.message.startsWith('minInterval must be a duration') &&
      e.message.endsWith('got "1\\x1b[2J"'),
  );
});

test('formatDuration writes the largest units first and drops zero parts', () => {
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(1000), '1s');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(313_000), '5m13s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(3_661_000), '1h1m1s');
  assert.equal(formatDuration(1500), '1500ms', 'not whole seconds: milliseconds, never "1.5s"');
  assert.equal(formatDuration(0), '0ms');
});

test('what formatDuration writes without a compound reads back to the same milliseconds', () => {
  for (const n of [1, 250, 999, 1000, 1500, 60_000, 3_600_000, 7_200_000]) assert.equal(ms(formatDuration(n)), n, String(n));
});
