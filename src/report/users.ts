/**
 * uid -> user name from /etc/passwd (passwd(5)), read once per call. The
 * async form reads the file off the event loop; an unreadable file means
 * names are unknown, never an error.
 */
import * as fs from 'node:fs';

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

export async function userNames(): Promise<Map<number, string>> {
  try {
    // fs.promises, not node:fs/promises at the top: loaded only when a
    // report names users, not at every start-up.
    return parse(await fs.promises.readFile('/etc/passwd', 'utf8'));
  } catch {
    return new Map();
  }
}

export function userNamesSync(): Map<number, string> {
  try {
    return parse(fs.readFileSync('/etc/passwd', 'utf8'));
  } catch {
    return new Map();
  }
}
