/**
 * Text rendering of library results for people: aligned columns, a bar per
 * state, colour only when asked for (the CLI decides: a TTY and no NO_COLOR).
 */
import type { StateCounts, TopReport } from './api';
import { STATE_MEANINGS, type StateName } from './states';

export interface Style {
  color: boolean;
  /** Unicode block bars on a terminal, '#' elsewhere. */
  unicode: boolean;
  width: number;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (st: Style, s: string) => paint(st.color, '1', s);
const dim = (st: Style, s: string) => paint(st.color, '2', s);

// States that usually mean trouble when they pile up.
const ALARM: ReadonlySet<string> = new Set(['CLOSE_WAIT', 'SYN_RECV', 'FIN_WAIT1', 'LAST_ACK', 'CLOSING', 'SYN_SENT']);

export function renderStates(counts: StateCounts, st: Style): string {
  const rows = Object.entries(counts.states)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const max = rows.length ? rows[0]![1] : 0;
  const countW = Math.max(5, String(counts.total).length);
  const barMax = Math.max(10, Math.min(50, st.width - countW - 16));
  const lines = [bold(st, `TCP sockets by state`) + dim(st, `  (${counts.tookMs} ms)`)];
  for (const [name, n] of rows) {
    const len = Math.max(1, Math.round((n / max) * barMax));
    const bar = (st.unicode ? '█' : '#').repeat(len);
    const label = name.padEnd(11);
    lines.push(`  ${String(n).padStart(countW)}  ${ALARM.has(name) ? paint(st.color, '31', label) : label}  ${bar}`);
  }
  if (rows.length === 0) lines.push(`  ${'0'.padStart(countW)}  (no sockets in the requested states)`);
  lines.push(`  ${String(counts.total).padStart(countW)}  ${bold(st, 'total')}` +
    dim(st, `  (IPv4 ${counts.families.ipv4}, IPv6 ${counts.families.ipv6})`));
  return lines.join('\n');
}

export function renderTop(top: TopReport, st: Style): string {
  const states = top.states.join(', ');
  const lines = [bold(st, `Top processes holding ${states}`) + dim(st, `  (${top.total} sockets, ${top.tookMs} ms)`)];
  if (top.states.length === 1) lines.push(dim(st, `  ${top.states[0]}: ${STATE_MEANINGS[top.states[0] as StateName]}`));
  if (top.rows.length > 0) {
    const countW = Math.max(5, ...top.rows.map((r) => String(r.count).length));
    const pidW = Math.max(3, ...top.rows.map((r) => String(r.pid).length));
    const cmdW = Math.max(7, ...top.rows.map((r) => r.command.length));
    lines.push(dim(st, `  ${'COUNT'.padStart(countW)}  ${'PID'.padStart(pidW)}  ${'COMMAND'.padEnd(cmdW)}  CMDLINE`));
    for (const r of top.rows) {
      const head = `  ${String(r.count).padStart(countW)}  ${String(r.pid).padStart(pidW)}  ${r.command.padEnd(cmdW)}  `;
      const room = Math.max(20, st.width - head.length);
      const cmd = r.cmdline.length > room ? r.cmdline.slice(0, room - 1) + '…' : r.cmdline;
      lines.push(head + cmd);
    }
  } else if (top.total === 0) {
    lines.push(`  no ${states} sockets`);
  }
  lines.push(`  ${top.unowned} held by no process (orphans, TIME_WAIT, half-open requests)`);
  if (top.unattributed > 0) {
    lines.push(`  ${top.unattributed} held by a process that could not be read or has exited`);
  }
  if (top.unreadableProcesses > 0) {
    lines.push(`  ${top.unreadableProcesses} processes could not be read; run as root to see all owners`);
  }
  return lines.join('\n');
}
