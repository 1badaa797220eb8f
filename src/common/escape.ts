/**
 * Text that someone else chose, made safe to show: a process, a cgroup or a
 * namespace names itself, and a caller hands us any value at all. Nothing
 * here may throw, and nothing it returns can drive a terminal (console_codes(4):
 * C0 and C1 controls start every escape sequence) or reorder the line it sits
 * in (Unicode bidirectional controls, U+202A-U+202E and U+2066-U+2069).
 * Pure functions, no I/O.
 */

const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The string with every control character escaped (\n, \t, \xNN, \uNNNN). */
export function printable(s: string | null | undefined): string {
  return (s ?? '').replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Echoed input is cut to this many characters: enough to recognise it, never a wall of text. */
export const MAX_SHOWN = 64;

/** A string cut to MAX_SHOWN characters (saying how long it was) and escaped. */
export function cut(s: string, max = MAX_SHOWN): string {
  const head = s.length > max ? `${s.slice(0, max)}... (${s.length} characters)` : s;
  return printable(head);
}

/**
 * Any value as an error message quotes it: strings in double quotes, cut and
 * escaped; numbers, bigints (5n) and booleans as written; anything else by its
 * JSON, or by its kind when it has none or reading it throws (a getter, a
 * Proxy, a toJSON or toString that throws, a cycle).
 */
export function shown(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `"${cut(v)}"`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'bigint':
      return cut(`${v}n`);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      break;
  }
  if (v === null) return 'null';
  try {
    const json = JSON.stringify(v);
    if (typeof json === 'string') return cut(json);
  } catch {
    // a BigInt inside, a cycle, a getter or toJSON that throws: say what it is instead
  }
  try {
    return Array.isArray(v) ? 'an array' : 'an object';
  } catch {
    return 'an object'; // a revoked Proxy throws even from Array.isArray
  }
}
