/**
 * src/errors.ts: the one list of error codes, and docs/errors.md's table
 * of them, which must name each code once and no other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ERROR_CODES, isErrorCode, OptionError, SystemError, TcpcensusError } from '../../src/errors';

test('docs/errors.md lists every error code, each once, and no other', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const listed = [...doc.matchAll(/^\| `(ERR_TCPCENSUS\w*)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...listed].sort(), Object.keys(ERROR_CODES).sort());
});

test('each error class carries its code; a system error its errno name', () => {
  assert.equal(new OptionError('x').code, 'ERR_TCPCENSUS_OPTION');
  assert.equal(new TcpcensusError('x').code, 'ERR_TCPCENSUS');
  assert.equal(new SystemError('open /x failed', 'open', 2, 'ENOENT', { path: '/x' }).code, 'ENOENT');
  assert.equal(new SystemError('x', 'open', 0, 'not an errno').code, 'EUNKNOWN');
  assert.equal(isErrorCode('ERR_TCPCENSUS_BPF'), true);
  assert.equal(isErrorCode('ERR_TCPCENSUS_NOPE'), false);
  assert.equal(isErrorCode('constructor'), false);
});

test('every code the addon sends is in the list (native/ sources, read as text)', () => {
  const root = join(__dirname, '..', '..', 'native');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(cc|h)$/.test(name)) files.push(p);
    }
  };
  walk(root);
  const sent = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/"(ERR_TCPCENSUS\w*)"/g)].map((m) => m[1]!)));
  assert.ok(sent.size >= 4, `found the addon's codes (${[...sent].join(', ')})`);
  for (const code of sent) assert.ok(isErrorCode(code), code);
});
