/**
 * The cgroup2 mount point, for `--cgroup PATH` (cgroups(7), proc(5)): a
 * pure function over the text of /proc/mounts, so it is tested without one.
 */

/**
 * Where cgroup2 is mounted, from the text of /proc/mounts (proc(5)): the
 * first cgroup2 line, as the addon's cgroupPaths picks it; undefined when
 * there is none. Mount points escape space, tab, newline and backslash as
 * octal (\040).
 */
export function cgroup2Mount(mounts: string): string | undefined {
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2' && f[1]) return f[1].replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}
