/**
 * src/common/suggest.ts: "did you mean" for a misspelt option, --by value or
 * command. The distance is Levenshtein's (insertions, deletions and
 * substitutions, one each; a swap of two letters is two), compared without
 * case; a word is close enough within max(2, floor(length / 3)) edits, as
 * the module says. A word of two or more letters that begins exactly one
 * candidate means that candidate (the module's rule for "proc" as process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { closest } from '../../src/common/suggest';

const BY = ['process', 'command', 'remote', 'remote-host', 'local-port', 'user', 'cgroup'];
const COMMANDS = ['states', 'top', 'list', 'watch', 'serve', 'explain'];

test('one edit away: an insertion, a deletion, a substitution', () => {
  assert.equal(closest('stats', COMMANDS), 'states');
  assert.equal(closest('watchh', COMMANDS), 'watch');
  assert.equal(closest('sorve', COMMANDS), 'serve');
});

test('two letters swapped are two edits, still within the bound', () => {
  assert.equal(closest('lsit', COMMANDS), 'list');
  assert.equal(closest('cgorup', BY), 'cgroup');
});

test('case is ignored both ways', () => {
  assert.equal(closest('TOP', COMMANDS), 'top');
  assert.equal(closest('Remote-Host', BY), 'remote-host');
});

test('a word cut short means the one candidate it begins', () => {
  assert.equal(closest('proc', BY), 'process');
  assert.equal(closest('cg', BY), 'cgroup');
  assert.equal(closest('expl', COMMANDS), 'explain');
});

test('a prefix of several candidates falls back to the nearest by edits', () => {
  assert.equal(closest('remote', BY), 'remote', 'exact beats the longer remote-host');
  assert.equal(closest('remote-hst', BY), 'remote-host');
});

test('the bound grows with the word: floor(length / 3) edits for long words', () => {
  const c = ['abcdefghijkl'];
  assert.equal(closest('abcdefghWXYZ', c), 'abcdefghijkl', '4 edits in 12 letters');
  assert.equal(closest('abcdefgVWXYZ', c), undefined, '5 edits in 12 letters');
  assert.equal(closest('abXY', ['abcd']), 'abcd', 'short words get 2 edits');
  assert.equal(closest('aXYZ', ['abcd']), undefined);
});

test('nothing close: no suggestion, rather than a wild guess', () => {
  assert.equal(closest('zzzzzz', COMMANDS), undefined);
  assert.equal(closest('kubernetes', BY), undefined);
  assert.equal(closest('top', []), undefined);
});

test('a one-letter word is no prefix: only the edit bound applies', () => {
  assert.equal(closest('x', ['xylophone', 'yak']), undefined);
  assert.equal(closest('t', ['top', 'watch']), 'top', '2 insertions, within max(2, 0)');
});
