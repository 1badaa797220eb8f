/**
 * src/request/states.ts: TCP state names, numbers and masks. Numbers are the
 * kernel's (include/net/tcp_states.h: ESTABLISHED 1 ... CLOSING 11), masks
 * are sock_diag(7)'s idiag_states (bit 1 << state). Input takes netstat(8)'s
 * names and ss(8)'s spellings and groups as ss(8) "STATE-FILTER" lists them:
 * established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait,
 * closed, close-wait, last-ack, listening, closing; all; connected (all but
 * listening and closed); synchronized (connected but syn-sent); bucket
 * (time-wait and syn-recv, the minisockets); big (the opposite of bucket);
 * bound-inactive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALL_MASK,
  DEFAULT_MASK,
  maskNames,
  parseStates,
  STATE_DETAILS,
  STATE_GROUPS,
  STATE_MEANINGS,
  STATE_NAMES,
  stateName,
  stateNumber,
  type StateName,
} from '../../src/request/states';
import { OptionError } from '../../src/errors';

// include/net/tcp_states.h
const KERNEL: Record<StateName, number> = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
};
const bits = (...names: StateName[]) => names.reduce((m, n) => m | (1 << KERNEL[n]), 0);

test("state numbers are the kernel's, both ways", () => {
  assert.deepEqual([...STATE_NAMES], Object.keys(KERNEL));
  for (const [name, n] of Object.entries(KERNEL) as Array<[StateName, number]>) {
    assert.equal(stateNumber(name), n, name);
    assert.equal(stateName(n), name, String(n));
  }
});

test('stateName refuses numbers that are no TCP state of the eleven', () => {
  for (const n of [0, 12, 13, -1, 1.5]) assert.throws(() => stateName(n), RangeError, String(n));
});

test('ALL_MASK is bits 1..11; the default leaves out CLOSE (what ss -a shows)', () => {
  assert.equal(ALL_MASK, 0b1111_1111_1110);
  assert.equal(DEFAULT_MASK, ALL_MASK & ~(1 << 7));
  assert.equal(parseStates(undefined), DEFAULT_MASK);
  assert.equal(parseStates(undefined, 1 << 8), 1 << 8, 'the fallback given');
});

test('every spelling ss(8) STATE-FILTER lists names its state', () => {
  const ss: Array<[string, StateName]> = [
    ['established', 'ESTABLISHED'],
    ['syn-sent', 'SYN_SENT'],
    ['syn-recv', 'SYN_RECV'],
    ['fin-wait-1', 'FIN_WAIT1'],
    ['fin-wait-2', 'FIN_WAIT2'],
    ['time-wait', 'TIME_WAIT'],
    ['closed', 'CLOSE'],
    ['close-wait', 'CLOSE_WAIT'],
    ['last-ack', 'LAST_ACK'],
    ['listening', 'LISTEN'],
    ['closing', 'CLOSING'],
  ];
  for (const [word, name] of ss) assert.equal(parseStates([word]), bits(name), word);
});

test('netstat(8) names, ss(8) column names (ESTAB, UNCONN) and any case or separator name the same state', () => {
  for (const name of STATE_NAMES) assert.equal(parseStates([name]), bits(name), name);
  assert.equal(parseStates(['ESTAB']), bits('ESTABLISHED'));
  assert.equal(parseStates(['estab']), bits('ESTABLISHED'));
  assert.equal(parseStates(['UNCONN']), bits('CLOSE'));
  assert.equal(parseStates(['close']), bits('CLOSE'));
  for (const w of ['CLOSE_WAIT', 'close-wait', 'closewait', 'Close_Wait', ' close-wait ']) assert.equal(parseStates([w]), bits('CLOSE_WAIT'), w);
  assert.equal(parseStates(['FIN-WAIT-1']), bits('FIN_WAIT1'));
});

test("the groups are ss(8)'s: all, connected, synchronized, bucket, big (any case)", () => {
  assert.equal(STATE_GROUPS.all, ALL_MASK);
  assert.equal(STATE_GROUPS.connected, ALL_MASK & ~bits('LISTEN', 'CLOSE'));
  assert.equal(STATE_GROUPS.synchronized, ALL_MASK & ~bits('LISTEN', 'CLOSE', 'SYN_SENT'));
  assert.equal(STATE_GROUPS.bucket, bits('TIME_WAIT', 'SYN_RECV'));
  assert.equal(STATE_GROUPS.big, ALL_MASK & ~bits('TIME_WAIT', 'SYN_RECV'));
  assert.equal(parseStates(['Connected']), STATE_GROUPS.connected);
  assert.equal(parseStates(['BUCKET']), STATE_GROUPS.bucket);
  assert.deepEqual(Object.keys(STATE_GROUPS).sort(), ['all', 'big', 'bucket', 'connected', 'synchronized']);
});

test('entries OR together, and each entry may itself be a comma-separated list', () => {
  assert.equal(parseStates(['listen', 'close-wait']), bits('LISTEN', 'CLOSE_WAIT'));
  assert.equal(parseStates(['listen,close-wait', 'time-wait']), bits('LISTEN', 'CLOSE_WAIT', 'TIME_WAIT'));
  assert.equal(parseStates(['bucket,listen']), bits('TIME_WAIT', 'SYN_RECV', 'LISTEN'));
  assert.equal(parseStates(['listen,,']), bits('LISTEN'), 'empty items between commas are skipped');
  assert.equal(parseStates(['listen', 'LISTEN']), bits('LISTEN'));
});

test('unknown words, non-strings and lists that name nothing are OptionErrors on "states"', () => {
  const isStatesError = (e: unknown) => e instanceof OptionError && e.option === 'states';
  for (const bad of [['nope'], ['new-syn-recv'], [''], [], [' , '], [5], ['listen', {}]]) {
    assert.throws(() => parseStates(bad as string[]), isStatesError, JSON.stringify(bad));
  }
  assert.throws(() => parseStates('listen' as unknown as string[]), isStatesError, 'a bare string is not a list');
  assert.throws(() => parseStates(['closewiat']), /unknown state "closewiat"; valid states: ESTABLISHED/);
});

test('an unknown word is echoed escaped, so an error message cannot drive the terminal', () => {
  assert.throws(
    () => parseStates(['\x1b]0;pwned\x07']),
    (e: unknown) => e instanceof OptionError && !/[\x00-\x1f\x7f-\x9f]/.test(e.message) && e.message.includes('\\x1b]0;pwned\\x07'),
  );
});

test("maskNames lists a mask's states in state-number order and ignores other bits", () => {
  assert.deepEqual(maskNames(bits('LISTEN', 'ESTABLISHED', 'CLOSE_WAIT')), ['ESTABLISHED', 'CLOSE_WAIT', 'LISTEN']);
  assert.deepEqual(maskNames(ALL_MASK), [...STATE_NAMES]);
  assert.deepEqual(maskNames(0), []);
  assert.deepEqual(maskNames(1 | (1 << 12) | (1 << 13)), [], 'bit 0, NEW_SYN_RECV (12) and BOUND_INACTIVE (13) are no names');
  for (const name of STATE_NAMES) assert.deepEqual(maskNames(parseStates([name])), [name]);
});

test('every state has a one-line meaning and a detail entry', () => {
  for (const name of STATE_NAMES) {
    assert.ok(STATE_MEANINGS[name].length > 10, name);
    const d = STATE_DETAILS[name];
    assert.ok(d.meaning && d.waiting && d.whenMany, name);
  }
});

// ss(8) STATE-FILTER lists "bound-inactive" (bound but otherwise inactive
// sockets); tcpcensus calls them CLOSE and accepts "closed"/"unconn" but not
// this spelling. iproute2's scan_state also takes "syn-rcv". Reported, not fixed
// here (src/request is the lead's).
test.todo('ss(8) spelling "bound-inactive" names CLOSE (refused today: unknown state)', () => {
  assert.equal(parseStates(['bound-inactive']), bits('CLOSE'));
});
test.todo('iproute2 scan_state spelling "syn-rcv" names SYN_RECV (refused today)', () => {
  assert.equal(parseStates(['syn-rcv']), bits('SYN_RECV'));
});
