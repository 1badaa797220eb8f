/**
 * src/report/address.ts: addresses from the socket table's 16-byte slots,
 * written as glibc's inet_ntop(3) writes them, so they compare with ss(8):
 * IPv4 as a dotted quad; IPv6 as RFC 5952 recommends (lower-case hex,
 * leading zeros dropped, "::" for the longest run of two or more zero
 * words, the leftmost run on a tie, never for a single zero word), with
 * glibc's embedded-IPv4 forms ::ffff:a.b.c.d (v4-mapped, RFC 4291 2.5.5.2)
 * and ::a.b.c.d (the deprecated v4-compatible form, when the last two words
 * are not a bare ::n). Every expected string below is what
 * socket.inet_ntop (glibc) printed for the same 16 bytes on this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatAddress, formatIPv4, formatIPv6 } from '../../src/report/address';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const six = (h: string) => formatIPv6(hex(h), 0);

test('IPv4: a dotted quad, at any offset in the slot array', () => {
  assert.equal(formatIPv4(hex('7f000001'), 0), '127.0.0.1');
  assert.equal(formatIPv4(hex('00000000'), 0), '0.0.0.0');
  assert.equal(formatIPv4(hex('ffffffff'), 0), '255.255.255.255');
  assert.equal(formatIPv4(hex('aabb0a000102'), 2), '10.0.1.2');
});

test('IPv6: loopback, any, and a run at the start or end', () => {
  assert.equal(six('00000000000000000000000000000001'), '::1');
  assert.equal(six('00000000000000000000000000000000'), '::');
  assert.equal(six('00010000000000000000000000000000'), '1::');
  assert.equal(six('fe800000000000000000000000000001'), 'fe80::1');
  assert.equal(six('00000000000100000000000000000000'), '0:0:1::', 'the longer run at the end wins');
});

test('IPv6: lower-case hex without leading zeros, and no "::" at all without zeros', () => {
  assert.equal(six('20010db8000000000000ff0000428329'), '2001:db8::ff00:42:8329');
  assert.equal(six('00010002000300040005000600070008'), '1:2:3:4:5:6:7:8');
  assert.equal(six('ABCD000000000000000000000000EF01'.toLowerCase()), 'abcd::ef01');
});

test('IPv6: a single zero word is never "::" (RFC 5952 4.2.2)', () => {
  assert.equal(six('00010000000200030004000500060007'), '1:0:2:3:4:5:6:7');
});

test('IPv6: the longest run wins; on a tie, the leftmost (RFC 5952 4.2.3)', () => {
  assert.equal(six('00010000000000020000000000000004'), '1:0:0:2::4', 'three zeros beat two');
  assert.equal(six('00010000000000020000000000030004'), '1::2:0:0:3:4', 'two and two: the first');
  assert.equal(six('00010000000000000002000000000000'), '1::2:0:0:0', 'three and three: the first');
});

test('IPv4-mapped IPv6 is ::ffff:a.b.c.d, as ss shows v4 peers of a v6 socket', () => {
  assert.equal(six('00000000000000000000ffff7f000001'), '::ffff:127.0.0.1');
  assert.equal(six('00000000000000000000ffff01020304'), '::ffff:1.2.3.4');
  assert.equal(six('00000000000000000000ffff00000000'), '::ffff:0.0.0.0');
  assert.equal(six('00000000000000000000ffff00000001'), '::ffff:0.0.0.1');
});

test('the v4-compatible form ::a.b.c.d, but ::n stays hex', () => {
  assert.equal(six('00000000000000000000000001020304'), '::1.2.3.4');
  assert.equal(six('00000000000000000000000000000102'), '::102');
  assert.equal(six('00000000000000000000000000000002'), '::2');
});

test('other embeddings are plain hex: ::ffff:0:a.b.c.d (SIIT) and 64:ff9b::/96 (NAT64)', () => {
  assert.equal(six('0000000000000000ffff000001020304'), '::ffff:0:102:304');
  assert.equal(six('0064ff9b000000000000000001020304'), '64:ff9b::102:304');
});

test('formatAddress reads row N at byte 16 * N, by family (4 or 6)', () => {
  const slots = hex('7f000001000000000000000000000000' + '00000000000000000000000000000001');
  assert.equal(formatAddress(4, slots, 0), '127.0.0.1');
  assert.equal(formatAddress(6, slots, 1), '::1');
  assert.equal(formatAddress(4, slots, 1), '0.0.0.0');
});

test('agrees with the WHATWG URL IPv6 serializer (the same RFC 5952 rules) wherever no IPv4 form applies', () => {
  // URL writes ::ffff:1.2.3.4 as ::ffff:102:304, so addresses whose first
  // five words are zero (the embedded-IPv4 cases above) are left out.
  let seed = 0x1234_5678;
  const rand = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) >>> 16;
  let compared = 0;
  for (let n = 0; n < 3000; n++) {
    const words = Array.from({ length: 8 }, () => (rand() % 3 === 0 ? 0 : rand() % 4 === 0 ? rand() & 0xf : rand()));
    if (words.slice(0, 5).every((w) => w === 0)) continue;
    const bytes = Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
    const url = new URL(`http://[${words.map((w) => w.toString(16)).join(':')}]/`).hostname.slice(1, -1);
    assert.equal(formatIPv6(bytes, 0), url, words.join(','));
    compared++;
  }
  assert.ok(compared > 2500);
});
