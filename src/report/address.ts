/**
 * Address text for the 16-byte address slots of the socket table, written
 * the way inet_ntop(3) writes them (so they compare with ss(8) output):
 * IPv4 dotted quad, IPv6 per RFC 5952 with "::" for the longest zero run and
 * the IPv4-mapped form ::ffff:a.b.c.d.
 */

export function formatIPv4(bytes: Uint8Array, off: number): string {
  return `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
}

export function formatIPv6(bytes: Uint8Array, off: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[off + 2 * i]! << 8) | bytes[off + 2 * i + 1]!);
  // Longest run of two or more zero words (first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // glibc prints an embedded IPv4 address for ::a.b.c.d and ::ffff:a.b.c.d.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
    return (bestLen === 5 ? '::ffff:' : '::') + formatIPv4(bytes, off + 12);
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function formatAddress(family: number, bytes: Uint8Array, row: number): string {
  return family === 6 ? formatIPv6(bytes, row * 16) : formatIPv4(bytes, row * 16);
}
