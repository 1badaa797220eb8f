// cgroup v2 for tests that make cgroups (cgroups(7)): where it is mounted,
// and removing what a test made once its processes are gone.
import fs from 'node:fs';

/** Where cgroup2 is mounted (the first cgroup2 line of /proc/mounts, see proc_pid_mounts(5)), or undefined. */
export function cgroup2Mount(): string | undefined {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/**
 * Removes cgroup directories, deepest first, each once its processes are
 * gone (rmdir is EBUSY until then); a missing one is fine.
 */
export async function removeCgroups(dirs: Iterable<string>): Promise<void> {
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
