/**
 * uid -> user name from /etc/passwd (passwd(5)), read once per call, by
 * either driver of lookup.ts (off the event loop when awaited); an
 * unreadable file means names are unknown, never an error.
 */
import { readFile, runAsync, type Check } from '../core/lookup';

function parse(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3) continue;
    const uid = Number(f[2]);
    if (Number.isInteger(uid) && !names.has(uid)) names.set(uid, f[0]!);
  }
  return names;
}

/** The names, or none when /etc/passwd cannot be read. */
export function* userNamesSteps(): Check<Map<number, string>> {
  const text = yield* readFile('/etc/passwd');
  return text.ok ? parse(text.value) : new Map();
}

export const userNames = (): Promise<Map<number, string>> => runAsync(userNamesSteps());
