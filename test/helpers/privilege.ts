// Command prefixes that run a child with less privilege (setpriv(1),
// capabilities(7)): the caller a container or an ordinary user would be.

/** Runs node as root without CAP_SYS_PTRACE (a container's default). */
export const NO_PTRACE: [string, ...string[]] = ['setpriv', '--bounding-set=-sys_ptrace', '--inh-caps=-sys_ptrace'];

/** Runs node as user nobody. */
export const AS_NOBODY: [string, ...string[]] = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
