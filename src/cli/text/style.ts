/**
 * The CLI's one text style: colour (SGR, console_codes(4)) when asked for,
 * the escape of every byte someone else named (a process's comm and argv,
 * a user name, a cgroup or namespace path: common/escape.ts), and the gate
 * every line passes on its way to the terminal. Renderers import these from
 * here, never write escape sequences of their own; the gate then escapes
 * any control character left in a line (a renderer that forgot), letting
 * through only newlines, tabs and our own colour sequences.
 */
import { cut, printable } from '../../common/escape';

export { cut, printable };

export interface Style {
  color: boolean;
  /** Unicode block bars on a terminal, '#' elsewhere. */
  unicode: boolean;
  width: number;
}

/** Text in an SGR colour ('1' bold, '2' dim, '31' red, ...) when colour is on. */
export const paint = (on: boolean, code: string, s: string): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = (st: Pick<Style, 'color'>, s: string): string => paint(st.color, '1', s);
export const dim = (st: Pick<Style, 'color'>, s: string): string => paint(st.color, '2', s);

// Every control character but \t and \n, and an ESC that does not start one
// of our SGR sequences (ESC [ digits m).
const FOREIGN = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\x1b(?!\[[0-9;]{0,8}m)/g;
const ANY_FOREIGN = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\x1b(?!\[[0-9;]{0,8}m)/;

/** The text as it may reach a terminal: what a renderer left unescaped, escaped. Cheap when nothing is (one test). */
export function gated(text: string): string {
  return ANY_FOREIGN.test(text) ? text.replace(FOREIGN, (c) => printable(c)) : text;
}

// JSON.stringify escapes C0 controls but writes C1 controls (U+009B is CSI)
// and the bidi controls as they are: valid JSON, and live on a terminal.
const JSON_FOREIGN = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON.stringify, with the controls it leaves as \\uXXXX escapes: the same value to a parser, inert on a terminal. */
export function jsonText(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent) ?? 'null';
  return text.replace(JSON_FOREIGN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes rendered text to stdout through the gate. */
export const out = (text: string): void => void process.stdout.write(gated(text));

/** Writes a `tcpcensus: ...` line to stderr through the gate. */
export const say = (line: string): void => void process.stderr.write(gated(`tcpcensus: ${line}\n`));
