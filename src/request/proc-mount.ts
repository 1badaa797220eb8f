/**
 * Whether procfs hides other users' processes from this one: a procfs
 * mounted with hidepid=2 (hidepid=invisible since Linux 5.8) or
 * hidepid=4 (ptraceable) lists only the processes this one may ptrace-read,
 * so the /proc walk never meets the others: their sockets come out
 * "unattributed" and nothing counts as unreadable. proc(5) ("Mount
 * options"), proc_pid_mountinfo(5) for the file read.
 *
 * parseProcHidepid is pure (mountinfo text in, the mount's options out);
 * procHidden does the I/O and decides for this process.
 */
import { readFile, realpath, type Check } from '../core/lookup';
import { privilege } from '../core/privilege';

export interface ProcHidepid {
  /** The option as the kernel shows it: "hidepid=invisible", "hidepid=2", ... */
  option: string;
  /** Whether processes are left out of the listing (not only closed). */
  hides: boolean;
  /** gid=N: members of this group see every process anyway; null without it. */
  gid: number | null;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

// 2, invisible: not listed; 4, ptraceable: only the ptraceable ones listed.
// 1 (noaccess) lists them but refuses their directories: the walk counts
// those as unreadable already.
const HIDING = new Set(['2', 'invisible', '4', 'ptraceable']);

/**
 * The hidepid option of the procfs mounted on `mountPoint`, from
 * /proc/self/mountinfo text: the last such mount (the one on top), null when
 * none is there or it has no hidepid (or hidepid=0/off).
 */
export function parseProcHidepid(mountinfo: string, mountPoint: string): ProcHidepid | null {
  let found: string[] | null = null;
  for (const line of mountinfo.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 4) continue;
    if (unescape(f[4]!) !== mountPoint) continue;
    found = f[dash + 1] === 'proc' ? f[dash + 3]!.split(',') : null;
  }
  if (!found) return null;
  const hidepid = found.find((o) => o.startsWith('hidepid='));
  if (!hidepid || hidepid === 'hidepid=0' || hidepid === 'hidepid=off') return null;
  const gid = found.find((o) => /^gid=\d+$/.test(o));
  return { option: hidepid, hides: HIDING.has(hidepid.slice('hidepid='.length)), gid: gid ? Number(gid.slice(4)) : null };
}

/**
 * The hidepid option that hides other users' processes from this process in
 * the procfs at procRoot ("hidepid=invisible"), or null: no such option,
 * this process sees them all anyway (root with CAP_SYS_PTRACE, or a member of
 * the mount's gid= group), or the mount table could not be read. A check
 * (lookup.ts), so the async calls read the mount table off the event loop;
 * run once per call, or once per sampler.
 */
export function* procHidden(procRoot: string): Check<string | null> {
  // Our own mountinfo: under hidepid this process always sees itself.
  const info = yield* readFile('/proc/self/mountinfo');
  const at = yield* realpath(procRoot);
  if (!info.ok || !at.ok) return null; // no mount table to read: nothing to say
  const h = parseProcHidepid(info.value, at.value);
  const groups = new Set([process.getegid?.(), ...(process.getgroups?.() ?? [])]);
  return h && h.hides && !(h.gid !== null && groups.has(h.gid)) && privilege() !== 'root' ? h.option : null;
}
