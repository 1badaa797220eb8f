/**
 * The default report's rule for its second section: who holds the sockets
 * in the chosen states. By process where owners can be read; when they
 * cannot (not root, and the eBPF source unavailable, so the /proc walk met
 * processes it could not read and left sockets without an owner), by
 * cgroup instead: the kernel tags every socket with its creator's cgroup,
 * readable by anyone, so the section answers "which service" rather than
 * showing a partial owner table. The report says why it switched.
 */
import { OWNER_SOURCE } from '../core/sources';
import type { TopReport } from '../types';

/**
 * Why the report shows cgroups instead of this by-process section, or null
 * to keep it. `why` is the reason processes may be unreadable to the caller
 * ("not root; root sees all owners").
 */
export function cgroupsInsteadBecause(top: TopReport, pidsGiven: boolean, why: string): string | null {
  if (pidsGiven || top.by !== 'process' || top.ownerSource === null || !OWNER_SOURCE[top.ownerSource].refusedByProcess || top.source !== 'netlink')
    return null;
  if (!top.unreadableProcesses || !top.unattributed) return null;
  const p = top.unreadableProcesses;
  return (
    `${p} ${p === 1 ? 'process' : 'processes'} could not be read (${why}), so ${top.unattributed} of ${top.total} sockets had no owner found` +
    (top.ownerFallback ? `; the eBPF owner source could not be used: ${top.ownerFallback}` : '')
  );
}
