/**
 * Text rendering of library results for people: aligned columns, a bar per
 * state, colour only when the CLI asks for it (a terminal, NO_COLOR unset or
 * empty). Bars and table rows fit Style.width; prose lines wrap as the
 * terminal wraps them.
 */
import type { Privilege } from './privilege';
import { STATE_DETAILS, STATE_MEANINGS, type StateName } from './states';
import type { SocketRow } from './table';
import type { StateCounts, TopReport, TopRow } from './types';

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
  const rows = (Object.entries(counts.states) as Array<[StateName, number]>)
    .filter(([, n]) => n > 0)
    // Plain comparison: state names are ASCII, and localeCompare's first call
    // loads ICU collation data (about 7 ms of the CLI's start-up).
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const max = rows.length ? rows[0]![1] : 0;
  const countW = Math.max(5, String(counts.total).length);
  // A state line is "  COUNT  LABEL(11)  BAR": 17 columns besides count and bar.
  const barMax = Math.max(1, Math.min(50, st.width - countW - 17));
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

/** Columns of a top table, by grouping: [header, cell] after COUNT. */
function topColumns(top: TopReport): Array<[string, (r: TopRow) => string, 'left' | 'right']> {
  switch (top.by) {
    case 'process':
      return [['PID', (r) => String(r.pid), 'right'], ['COMMAND', (r) => r.command ?? '', 'left'], ['CMDLINE', (r) => r.cmdline ?? '', 'left']];
    case 'command':
      return [['PROCS', (r) => String(r.pids), 'right'], ['COMMAND', (r) => r.command ?? '', 'left']];
    case 'remote':
      return [['PEER', (r) => r.key, 'left']];
    case 'remote-host':
      return [['PEER ADDRESS', (r) => r.key, 'left']];
    case 'local-port':
      return [['LOCAL PORT', (r) => r.key, 'right']];
    case 'user':
      return [['UID', (r) => String(r.uid), 'right'], ['USER', (r) => r.user ?? '?', 'left']];
  }
}

const BY_TITLE: Record<TopReport['by'], string> = {
  process: 'processes',
  command: 'commands',
  remote: 'peers',
  'remote-host': 'peer addresses',
  'local-port': 'local ports',
  user: 'users',
};

export function renderTop(top: TopReport, st: Style): string {
  const states = top.states.join(', ');
  const via = top.ownerSource ? `, owners via ${top.ownerSource === 'bpf' ? 'eBPF' : '/proc'}` : '';
  const lines = [bold(st, `Top ${BY_TITLE[top.by]} holding ${states}`) + dim(st, `  (${top.total} sockets, ${top.tookMs} ms${via})`)];
  if (top.ownerFallback) lines.push(dim(st, `  the eBPF owner source could not be used: ${top.ownerFallback}`));
  if (top.states.length === 1) lines.push(dim(st, `  ${top.states[0]}: ${STATE_MEANINGS[top.states[0] as StateName]}`));
  if (top.rows.length > 0) {
    const cols = topColumns(top);
    const countW = Math.max(5, ...top.rows.map((r) => String(r.count).length));
    const widths = cols.map(([h, cell]) => Math.max(h.length, ...top.rows.map((r) => cell(r).length)));
    const fmt = (cells: string[], i: number) => {
      const [, , align] = cols[i]!;
      const last = i === cols.length - 1 && align === 'left';
      return last ? cells[i]! : align === 'right' ? cells[i]!.padStart(widths[i]!) : cells[i]!.padEnd(widths[i]!);
    };
    const line = (count: string, cells: string[]) => {
      const text = `  ${count.padStart(countW)}  ${cells.map((_, i) => fmt(cells, i)).join('  ')}`;
      return text.length > st.width ? text.slice(0, Math.max(20, st.width - 1)) + '…' : text;
    };
    lines.push(dim(st, line('COUNT', cols.map(([h]) => h))));
    for (const r of top.rows) lines.push(line(String(r.count), cols.map(([, cell]) => cell(r))));
  } else if (top.total === 0) {
    lines.push(`  no ${states} sockets`);
  }
  // The endpoint groupings describe sockets, not owners: their rows include
  // the unowned ones. Owner groupings never do.
  const inRows = ENDPOINT_GROUPINGS.has(top.by) && top.unowned > 0 ? ', counted in the rows above too' : '';
  lines.push(`  ${top.unowned} held by no process (orphans, TIME_WAIT, half-open requests)${inRows}`);
  if (top.unattributed) {
    lines.push(`  ${top.unattributed} held, but no owner found: unreadable or exited processes, or closed between the dump and the walk`);
  }
  if (top.shared) {
    lines.push(`  ${top.shared} ${top.shared === 1 ? 'socket is' : 'sockets are'} shared by several processes, each counted once, for the lowest pid`);
  }
  return lines.join('\n');
}

const ENDPOINT_GROUPINGS: ReadonlySet<TopReport['by']> = new Set(['remote', 'remote-host', 'local-port']);

const WHY_UNREADABLE: Record<Privilege, string> = {
  'not-root': 'not root; root sees all owners',
  'root-without-ptrace': "root without CAP_SYS_PTRACE (a container's default) cannot read another process's fd links",
  root: 'refused even to root: a security module, or a process holding capabilities this one lacks',
};

/** The one line saying how many processes could not be read, and why that may be. */
export function unreadableLine(n: number, why: Privilege): string {
  return `${n} ${n === 1 ? 'process' : 'processes'} could not be read (${WHY_UNREADABLE[why]})`;
}

const endpointText = (addr: string, port: number, family: string) =>
  `${family === 'ipv6' ? `[${addr}]` : addr}:${port === 0 && (addr === '0.0.0.0' || addr === '::') ? '*' : port}`;

/** Column widths for `list`: wide enough for most rows; longer ones push the line. */
export function listHeader(processes: boolean): string {
  return `${'State'.padEnd(11)} ${'Recv-Q'.padStart(6)} ${'Send-Q'.padStart(6)} ${'Local Address:Port'.padEnd(28)} ${'Peer Address:Port'.padEnd(28)}` +
    (processes ? ` ${'PID'.padStart(7)} Command` : '');
}

export function listLine(r: SocketRow, processes: boolean): string {
  const base = `${r.state.padEnd(11)} ${String(r.recvQ).padStart(6)} ${String(r.sendQ).padStart(6)} ` +
    `${endpointText(r.localAddress, r.localPort, r.family).padEnd(28)} ${endpointText(r.remoteAddress, r.remotePort, r.family).padEnd(28)}`;
  if (!processes) return base.trimEnd();
  return `${base} ${(r.pid == null ? '-' : String(r.pid)).padStart(7)} ${r.command ?? '-'}`;
}

export function renderExplain(states: StateName[]): string {
  return states.map((s) => {
    const d = STATE_DETAILS[s];
    return `${s}\n  ${d.meaning}\n  Waiting: ${d.waiting}\n  Many of them: ${d.whenMany}`;
  }).join('\n\n');
}
