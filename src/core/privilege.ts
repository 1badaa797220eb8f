/**
 * Why this process may be refused another process's fd table, so the CLI's
 * "could not be read" line can give the hint that fits: not root; root
 * without CAP_SYS_PTRACE (a container's default), which can list
 * /proc/<pid>/fd but not read its links; or root with it, refused anyway (a
 * security module, or a process holding capabilities this one lacks).
 */
import { readFileSync } from 'node:fs';

export type Privilege = 'not-root' | 'root-without-ptrace' | 'root';

const CAP_SYS_PTRACE = 19n; // linux/capability.h

export function privilege(): Privilege {
  if (process.getuid?.() !== 0) return 'not-root';
  try {
    const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m && ((BigInt(`0x${m[1]}`) >> CAP_SYS_PTRACE) & 1n) === 0n) return 'root-without-ptrace';
  } catch {
    // No /proc/self/status: nothing better to say than "root".
  }
  return 'root';
}
