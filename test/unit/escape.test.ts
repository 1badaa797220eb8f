/**
 * src/common/escape.ts: text someone else chose, made safe to show. What a
 * terminal acts on is console_codes(4): the C0 controls (0x00-0x1f, ESC
 * 0x1b starts a sequence, BEL 0x07 ends an OSC), DEL (0x7f) and the C1
 * controls (0x80-0x9f: 0x9b is CSI, 0x9d OSC on their own); a line can also
 * be reordered by the Unicode bidirectional controls (U+202A-U+202E,
 * U+2066-U+2069, Unicode UAX #9) and broken by U+2028/U+2029. None of those
 * may come out; everything else comes out unchanged. shown() must answer
 * for any value a caller hands over (ECMA-262: JSON.stringify throws on
 * BigInt and cycles, a Proxy trap or a getter may throw, a revoked Proxy
 * throws from Array.isArray) and never throw itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { cut, MAX_SHOWN, printable, shown } from '../../src/common/escape';

// Any C0, DEL, C1, line/paragraph separator or bidi control left in the text.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('printable escapes ESC, BEL, DEL, a C1 CSI (0x9b) and NUL as \\xNN, newline and tab as \\n and \\t', () => {
  assert.equal(printable('\x1b]0;owned\x07'), '\\x1b]0;owned\\x07');
  assert.equal(printable('a\x7fb'), 'a\\x7fb');
  assert.equal(printable('\u009b31m'), '\\x9b31m');
  assert.equal(printable('\x00'), '\\x00');
  assert.equal(printable('one\ntwo\tthree\r'), 'one\\ntwo\\tthree\\x0d');
});

test('every code point from 0x00 to 0x9f: controls escaped, printable ASCII and Latin-1 kept', () => {
  for (let c = 0; c <= 0xff; c++) {
    const ch = String.fromCharCode(c);
    const out = printable(ch);
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    if (control) {
      assert.match(out, /^\\(x[0-9a-f]{2}|n|t)$/, `0x${c.toString(16)}`);
    } else {
      assert.equal(out, ch, `0x${c.toString(16)}`);
    }
  }
});

test('bidirectional overrides and isolates and U+2028/U+2029 come out as \\uNNNN', () => {
  assert.equal(printable('a\u202eb'), 'a\\u202eb');
  assert.equal(printable('\u2066x\u2069'), '\\u2066x\\u2069');
  assert.equal(printable('\u2028\u2029'), '\\u2028\\u2029');
  for (const c of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
    assert.equal(printable(String.fromCharCode(c)), `\\u${c.toString(16)}`);
  }
});

test('ordinary Unicode, emoji and a right-to-left script pass unchanged', () => {
  for (const s of ['nginx: worker process', 'café', '日本語', '🦀 rust', 'שלום', 'zero\u200bwidth']) assert.equal(printable(s), s);
});

test('null and undefined are the empty string', () => {
  assert.equal(printable(null), '');
  assert.equal(printable(undefined), '');
});

test('a lone surrogate is no control: printable neither throws nor lets a control byte through', () => {
  const out = printable('\ud800x\udfff');
  assert.doesNotMatch(out, UNSAFE);
  // Written to a terminal as UTF-8 it becomes U+FFFD (WHATWG Encoding), still nothing a terminal acts on.
  assert.doesNotMatch(Buffer.from(out, 'utf8').toString('latin1'), /[\x00-\x1f\x7f]/);
});

test('cut keeps MAX_SHOWN characters, says how long the input was, and escapes what it keeps', () => {
  assert.equal(MAX_SHOWN, 64);
  assert.equal(cut('x'.repeat(64)), 'x'.repeat(64));
  assert.equal(cut('x'.repeat(65)), `${'x'.repeat(64)}... (65 characters)`);
  assert.equal(cut('abcdef', 3), 'abc... (6 characters)');
  assert.equal(cut('\x1b'.repeat(100), 2), '\\x1b\\x1b... (100 characters)');
});

test('a huge string is cut before it is escaped: a short, safe message', () => {
  const huge = '\x1b[2J'.repeat(2_000_000);
  const out = shown(huge);
  assert.ok(out.length < 400, `${out.length} characters`);
  assert.doesNotMatch(out, UNSAFE);
  assert.match(out, /\(8000000 characters\)"$/);
});

test('shown writes strings quoted and escaped, numbers, booleans and bigints as written', () => {
  assert.equal(shown('abc'), '"abc"');
  assert.equal(shown('a\x1bb'), '"a\\x1bb"');
  assert.equal(shown(42), '42');
  assert.equal(shown(-0.5), '-0.5');
  assert.equal(shown(NaN), 'NaN');
  assert.equal(shown(true), 'true');
  assert.equal(shown(5n), '5n');
  assert.equal(shown(undefined), 'undefined');
  assert.equal(shown(null), 'null');
});

test('shown writes plain objects and arrays by their JSON, cut and escaped', () => {
  assert.equal(shown({ a: 1 }), '{"a":1}');
  assert.equal(shown([1, 'x']), '[1,"x"]');
  // JSON writes ESC as \u001b already; nothing raw either way.
  assert.doesNotMatch(shown({ name: '\x1b]0;x\x07' }), UNSAFE);
  assert.match(shown({ long: 'y'.repeat(500) }), /\.\.\. \(\d+ characters\)$/);
});

test('shown names what it cannot write: a symbol, a function, BigInt inside, a cycle', () => {
  assert.equal(shown(Symbol('\x1b')), 'a symbol');
  assert.equal(
    shown(() => 1),
    'a function',
  );
  assert.equal(shown({ n: 1n }), 'an object');
  const cyc: unknown[] = [];
  cyc.push(cyc);
  assert.equal(shown(cyc), 'an array');
});

test('shown never throws on getters, toJSON, Proxies that throw, or a revoked Proxy', () => {
  const boom = () => {
    throw new Error('boom');
  };
  assert.equal(
    shown({
      get x() {
        return boom();
      },
    }),
    'an object',
  );
  assert.equal(shown({ toJSON: boom }), 'an object');
  const trap = new Proxy({}, { get: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, has: boom, getPrototypeOf: boom });
  assert.equal(shown(trap), 'an object');
  const arrayTrap = new Proxy([], { get: boom });
  assert.equal(shown(arrayTrap), 'an array');
  const r = Proxy.revocable({}, {});
  r.revoke();
  assert.equal(shown(r.proxy), 'an object');
});

test('a Date and a boxed string are written as JSON writes them', () => {
  assert.equal(shown(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  assert.equal(shown(new String('x')), '"x"');
});
