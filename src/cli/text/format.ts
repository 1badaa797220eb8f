/**
 * Text rendering of library results for people: aligned columns, a bar per
 * state, colour only when the CLI asks for it (a terminal, NO_COLOR unset or
 * empty). Bars and table rows fit Style.width; prose lines wrap as the
 * terminal wraps them.
 */
import { bold, dim, paint, printable, type Style } from './style';
import type { Privilege } from '../../core/privilege';
import { OWNER_SOURCE } from '../../core/sources';
import { STATE_DETAILS, STATE_MEANINGS, type StateName } from '../../request/states';
import { GROUPINGS } from '../../report/groupings';
import type { SocketRow } from '../../report/table';
import type { NetnsLabel, SkippedNetns, NetnsStateCounts, NetnsTopReport, SocketSource, StateCounts, TopReport, TopRow, Unknown } from '../../types';

export type { Style };

// A process names itself (comm, argv), and so does a namespace (its file
// name), a user or a cgroup: a newline or an escape sequence in it must not
// break a table or drive the terminal. Shown escaped instead (./style.ts).

// States that usually mean trouble when they pile up.
const ALARM: ReadonlySet<string> = new Set(['CLOSE_WAIT', 'SYN_RECV', 'FIN_WAIT1', 'LAST_ACK', 'CLOSING', 'SYN_SENT']);

const UNKNOWN_TEXT: Record<Unknown, string> = {
  boundInactive: 'bound-inactive sockets (CLOSE)',
  cgroupId: 'cgroups',
  cookie: 'socket cookies',
  ifindex: 'interfaces',
  listenBacklog: 'LISTEN backlogs (Send-Q)',
};

/** "a", "a and b", "a, b and c" */
const andList = (xs: string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/**
 * What a result says about where its sockets came from: why netlink was not
 * used, and what the source could not show (never printed as zeros).
 */
export function sourceLines(r: { source: SocketSource; sourceFallback: string | null; unknown: Unknown[] }): string[] {
  const lines: string[] = [];
  if (r.sourceFallback) lines.push(`NETLINK_SOCK_DIAG was refused (${r.sourceFallback}): read /proc/net/tcp instead`);
  if (r.unknown.length) {
    lines.push(
      `${r.source === 'procfs' ? 'from /proc/net/tcp' : 'from this kernel'}: ${andList(r.unknown.map((u) => UNKNOWN_TEXT[u]))} cannot be shown`,
    );
  }
  return lines;
}

const fromText = (source: SocketSource) => (source === 'procfs' ? ', from /proc/net/tcp' : '');

/** A namespace as people know it: its name, else a pid in it; "(ours)" for the caller's. */
export function netnsText(n: NetnsLabel): string {
  return `${n.name !== null ? printable(n.name) : n.pid !== null ? `pid ${n.pid}` : '?'}${n.self ? ' (ours)' : ''}`;
}

// The non-zero states of a histogram, largest first, then by name. A plain
// comparison: state names are ASCII, and localeCompare's first call loads
// ICU collation data (about 7 ms of the CLI's start-up).
function nonZeroStates(states: StateCounts['states']): Array<[StateName, number]> {
  return (Object.entries(states) as Array<[StateName, number]>).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export function renderStates(counts: StateCounts, st: Style, where?: string): string {
  const rows = nonZeroStates(counts.states);
  const max = rows.length ? rows[0]![1] : 0;
  const countW = Math.max(5, String(counts.total).length);
  // A state line is "  COUNT  LABEL(11)  BAR": 17 columns besides count and bar.
  const barMax = Math.max(1, Math.min(50, st.width - countW - 17));
  const lines = [bold(st, `TCP sockets by state${where ? ` ${where}` : ''}`) + dim(st, `  (${counts.tookMs} ms${fromText(counts.source)})`)];
  for (const [name, n] of rows) {
    const len = Math.max(1, Math.round((n / max) * barMax));
    const bar = (st.unicode ? '█' : '#').repeat(len);
    const label = name.padEnd(11);
    lines.push(`  ${String(n).padStart(countW)}  ${ALARM.has(name) ? paint(st.color, '31', label) : label}  ${bar}`);
  }
  if (rows.length === 0) lines.push(`  ${'0'.padStart(countW)}  (no sockets in the requested states)`);
  lines.push(
    `  ${String(counts.total).padStart(countW)}  ${bold(st, 'total')}` + dim(st, `  (IPv4 ${counts.families.ipv4}, IPv6 ${counts.families.ipv6})`),
  );
  for (const l of sourceLines(counts)) lines.push(dim(st, `  ${l}`));
  return lines.join('\n');
}

/** states --all-netns: the sums, then one line per namespace. */
export function renderNetnsStates(r: NetnsStateCounts, st: Style): string {
  const n = r.namespaces.length;
  const first = r.namespaces[0];
  const sum: StateCounts = {
    total: r.total,
    states: r.states,
    families: r.families,
    tookMs: r.tookMs,
    source: first?.source ?? 'netlink',
    sourceFallback: first?.sourceFallback ?? null,
    unknown: [...new Set(r.namespaces.flatMap((x) => x.unknown))],
  };
  const lines = [renderStates(sum, st, `in ${n} network ${n === 1 ? 'namespace' : 'namespaces'}`), ''];
  const countW = Math.max(5, ...r.namespaces.map((x) => String(x.total).length));
  const labelW = Math.max(4, ...r.namespaces.map((x) => netnsText(x.netns).length));
  lines.push(dim(st, `  ${'TOTAL'.padStart(countW)}  ${'NETNS'.padEnd(10)}  ${'NAME'.padEnd(labelW)}  STATES`));
  for (const x of r.namespaces) {
    const states = nonZeroStates(x.states)
      .map(([s, c]) => `${s} ${c}`)
      .join(', ');
    const line = `  ${String(x.total).padStart(countW)}  ${String(x.netns.inode).padEnd(10)}  ${netnsText(x.netns).padEnd(labelW)}  ${states}`;
    lines.push(line.length > st.width ? line.slice(0, Math.max(20, st.width - 1)) + '…' : line.trimEnd());
  }
  lines.push(...netnsScanLines(r, st));
  return lines.join('\n');
}

function netnsScanLines(r: { skipped: number; skippedNamespaces: SkippedNetns[]; unreadableProcesses: number }, st: Style): string[] {
  const lines: string[] = [];
  if (r.skipped) {
    lines.push(
      dim(
        st,
        `  ${r.skipped} ${r.skipped === 1 ? 'namespace' : 'namespaces'} vanished between listing and dumping (their last process exited, or ip netns del), skipped:`,
      ),
    );
    for (const x of r.skippedNamespaces) lines.push(dim(st, `    ${netnsText(x.netns)} [${x.netns.inode}]: ${printable(x.reason)}`));
  }
  if (r.unreadableProcesses) {
    const n = r.unreadableProcesses;
    lines.push(
      dim(
        st,
        `  ${n} ${n === 1 ? "process's network namespace" : "processes' network namespaces"} could not be read: a namespace only they hold is not shown`,
      ),
    );
  }
  return lines;
}

/** top --all-netns: a report per namespace holding sockets in the states asked for. */
export function renderNetnsTop(r: NetnsTopReport, st: Style): string {
  const shown = r.namespaces.filter((x) => x.total > 0);
  const sections = shown.map((x) => renderTop(x, st, `in netns ${netnsText(x.netns)} [${x.netns.inode}]`));
  const empty = r.namespaces.length - shown.length;
  const tail = [
    dim(
      st,
      `${r.total} ${r.states.join(', ')} sockets in ${r.namespaces.length} network namespaces (${r.tookMs} ms)` +
        (empty ? `; ${empty} of them ${empty === 1 ? 'holds' : 'hold'} none` : ''),
    ),
  ];
  tail.push(...netnsScanLines(r, st).map((l) => l.replace(/^ {2}/, '')));
  return [...sections, tail.join('\n')].join('\n\n');
}

/** `where` goes in the title (a namespace); `note`, a line under it, says why this grouping. */
export function renderTop(top: TopReport, st: Style, where?: string, note?: string): string {
  const states = top.states.join(', ');
  const via = top.ownerSource ? `, owners via ${OWNER_SOURCE[top.ownerSource].label}` : '';
  const grouping = GROUPINGS[top.by];
  const lines = [
    bold(st, `Top ${grouping.title} holding ${states}${where ? ` ${where}` : ''}`) +
      dim(st, `  (${top.total} sockets, ${top.tookMs} ms${via}${fromText(top.source)})`),
  ];
  if (note) lines.push(`  ${note}`);
  for (const l of sourceLines(top)) lines.push(dim(st, `  ${l}`));
  if (top.ownerFallback) lines.push(dim(st, `  the eBPF owner source could not be used: ${top.ownerFallback}`));
  if (top.states.length === 1) lines.push(dim(st, `  ${top.states[0]}: ${STATE_MEANINGS[top.states[0] as StateName]}`));
  if (top.rows.length > 0) {
    // Every cell escaped: a process, a user or a cgroup names itself.
    const cols = grouping.columns.map((c) => ({ ...c, cell: (r: TopRow) => printable(c.cell(r)) }));
    const countW = Math.max(5, ...top.rows.map((r) => String(r.count).length));
    const widths = cols.map(({ header, cell }) => Math.max(header.length, ...top.rows.map((r) => cell(r).length)));
    const fmt = (cells: string[], i: number) => {
      const { align } = cols[i]!;
      const last = i === cols.length - 1 && align === 'left';
      return last ? cells[i]! : align === 'right' ? cells[i]!.padStart(widths[i]!) : cells[i]!.padEnd(widths[i]!);
    };
    const line = (count: string, cells: string[]) => {
      const text = `  ${count.padStart(countW)}  ${cells.map((_, i) => fmt(cells, i)).join('  ')}`;
      return text.length > st.width ? text.slice(0, Math.max(20, st.width - 1)) + '…' : text;
    };
    lines.push(
      dim(
        st,
        line(
          'COUNT',
          cols.map((c) => c.header),
        ),
      ),
    );
    for (const r of top.rows)
      lines.push(
        line(
          String(r.count),
          cols.map((c) => c.cell(r)),
        ),
      );
  } else if (top.total === 0) {
    lines.push(`  no ${states} sockets`);
  }
  // The endpoint groupings describe sockets, not owners: their rows include
  // the unowned ones. Owner groupings never do.
  const inRows = grouping.countsUnowned && top.unowned > 0 ? ', counted in the rows above too' : '';
  lines.push(`  ${top.unowned} ${grouping.unownedText}${inRows}`);
  if (top.unattributed) {
    lines.push(`  ${top.unattributed} held, but no owner found: unreadable or exited processes, or closed between the dump and the walk`);
  }
  if (top.shared) {
    lines.push(
      `  ${top.shared} ${top.shared === 1 ? 'socket is' : 'sockets are'} shared by several processes, each counted once, for the lowest pid`,
    );
  }
  return lines.join('\n');
}

const WHY_UNREADABLE: Record<Privilege, string> = {
  'not-root': 'not root; root sees all owners',
  'root-without-ptrace': "root without CAP_SYS_PTRACE (a container's default) cannot read another process's fd links",
  root: 'refused even to root: a security module, or a process holding capabilities this one lacks',
};

/** Why processes may be unreadable to who we are: "not root; root sees all owners", ... */
export const unreadableWhy = (why: Privilege): string => WHY_UNREADABLE[why];

/** The one line saying how many processes could not be read, and why that may be. */
export function unreadableLine(n: number, why: Privilege): string {
  return `${n} ${n === 1 ? 'process' : 'processes'} could not be read (${WHY_UNREADABLE[why]})`;
}

/**
 * The line saying procfs hides other users' processes (TopReport.procHidden):
 * under hidepid the walk never meets them, so nothing counts as unreadable
 * and without this line their sockets' missing owners would go unexplained.
 */
export function procHiddenLine(option: string, procRoot: string): string {
  return (
    `procfs at ${printable(procRoot)} is mounted ${printable(option)}: other users' processes are hidden from this one, ` +
    "so the sockets they hold show no owner (root, or the mount's gid= group, sees them all)"
  );
}

const endpointText = (addr: string, port: number, family: string) =>
  `${family === 'ipv6' ? `[${addr}]` : addr}:${port === 0 && (addr === '0.0.0.0' || addr === '::') ? '*' : port}`;

/** Column widths for `list`: wide enough for most rows; longer ones push the line. */
export function listHeader(processes: boolean, netns = false): string {
  return (
    `${netns ? `${'Netns'.padEnd(NETNS_W)} ` : ''}${'State'.padEnd(11)} ${'Recv-Q'.padStart(6)} ${'Send-Q'.padStart(6)} ${'Local Address:Port'.padEnd(28)} ${'Peer Address:Port'.padEnd(28)}` +
    (processes ? ` ${'PID'.padStart(7)} Command` : '')
  );
}

/** list --all-netns: the namespace (its name, else its inode) leads each row. */
const NETNS_W = 12;

export function listLine(r: SocketRow, processes: boolean, netns?: string): string {
  const base =
    `${netns !== undefined ? `${printable(netns).padEnd(NETNS_W)} ` : ''}${r.state.padEnd(11)} ${String(r.recvQ).padStart(6)} ${(r.sendQ === null ? '?' : String(r.sendQ)).padStart(6)} ` +
    `${endpointText(r.localAddress, r.localPort, r.family).padEnd(28)} ${endpointText(r.remoteAddress, r.remotePort, r.family).padEnd(28)}`;
  if (!processes) return base.trimEnd();
  return `${base} ${(r.pid == null ? '-' : String(r.pid)).padStart(7)} ${r.command == null ? '-' : printable(r.command)}`;
}

export function renderExplain(states: StateName[]): string {
  return states
    .map((s) => {
      const d = STATE_DETAILS[s];
      return `${s}\n  ${d.meaning}\n  Waiting: ${d.waiting}\n  Many of them: ${d.whenMany}`;
    })
    .join('\n\n');
}
