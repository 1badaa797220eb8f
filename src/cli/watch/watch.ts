/**
 * `tcpcensus watch`'s view: what it shows of the samples it took.
 *
 * On a terminal, a full-screen view (the alternate screen, cursor hidden):
 * the state histogram with bars, each state's change since the last sample
 * and a sparkline of its count over the last minutes (scaled from zero, as
 * the bars are, so 591 -> 594 draws flat: the CHANGE column says by how
 * much; its header says the time its samples really cover), then the top owners of
 * the chosen states with their change. q or Ctrl-C quits; a resize
 * redraws; the terminal is restored on any exit, a crash included. Not on a
 * terminal, one line per sample (NDJSON with --json), so `watch | tee log`
 * works.
 *
 * The view is a pure function of the samples seen (WatchView + renderWatch),
 * unit-tested without a terminal or the addon; ./run.ts is the loop around
 * it. Every outside byte is escaped through the text style (../text/style.ts).
 */
import { formatDuration } from '../../request/duration';
import { paint, printable } from '../text/style';
import { GROUPINGS } from '../../report/groupings';
import { STATE_NAMES, type StateName } from '../../request/states';
import type { Sample, TopRow } from '../../types';

export interface WatchStyle {
  color: boolean;
  unicode: boolean;
}

// ---- the view: what the samples so far say ----

/** Sparklines cover about this long, whatever the interval. */
const SPARK_SPAN_MS = 5 * 60_000;
/** Samples kept for the sparklines, at most. */
const MAX_HISTORY = 20_000;

/** The samples a watch has seen, as much as the screen needs. */
export class WatchView {
  /** Counts per state of each sample kept, oldest first. */
  readonly history: Array<Partial<Record<StateName, number>>> = [];
  /** When each sample kept was taken (ms since the epoch), beside history. */
  readonly times: number[] = [];
  last: Sample | null = null;
  /** The top rows of the sample before the last, by key. */
  prevRows = new Map<string, number>();
  error: string | null = null;

  constructor(
    readonly intervalMs: number,
    readonly topStates: StateName[],
  ) {}

  push(s: Sample): void {
    if (this.last?.top) this.prevRows = new Map(this.last.top.rows.map((r) => [r.key, r.count]));
    this.last = s;
    this.error = null;
    this.history.push(s.states);
    this.times.push(s.at.getTime());
    const keep = Math.min(MAX_HISTORY, Math.ceil(SPARK_SPAN_MS / this.intervalMs) + 1);
    if (this.history.length > keep) {
      this.history.splice(0, this.history.length - keep);
      this.times.splice(0, this.times.length - keep);
    }
  }

  fail(message: string): void {
    this.error = message;
  }
}

// ---- rendering: pure ----

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII_SPARKS = ['_', '.', '-', '-', '=', '=', '*', '#'];
const ALARM: ReadonlySet<string> = new Set(['CLOSE_WAIT', 'SYN_RECV', 'FIN_WAIT1', 'LAST_ACK', 'CLOSING', 'SYN_SENT']);

/** A line of segments, each painted or not; cut to the width by visible characters. */
type Segment = [text: string, sgr?: string];

function line(segments: Segment[], width: number, color: boolean): string {
  let left = width;
  let out = '';
  for (const [text, sgr] of segments) {
    if (left <= 0) break;
    const t = [...text].slice(0, left).join('');
    left -= [...t].length;
    out += sgr ? paint(color, sgr, t) : t;
  }
  return out;
}

const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `${n}` : '0');

/**
 * A sparkline of `values` (oldest first) in `width` characters: each one
 * the largest value of `per` consecutive samples, newest at the right,
 * scaled from zero to the largest value shown. From zero, not from the
 * smallest value: stretched between its extremes, 591 -> 594 drew as a
 * rise from nothing to full height, a leak that was not there. The height
 * is the count's, as the bar's is; a count above zero never draws as the
 * lowest character, which is kept for none (as the bar draws at least one
 * block).
 */
export function sparkline(values: number[], width: number, per: number, unicode: boolean): string {
  const chars = unicode ? SPARKS : ASCII_SPARKS;
  const buckets: number[] = [];
  for (let end = values.length; end > 0 && buckets.length < width; end -= per) {
    buckets.unshift(Math.max(...values.slice(Math.max(0, end - per), end)));
  }
  if (buckets.length === 0) return '';
  const hi = Math.max(...buckets);
  const top = chars.length - 1;
  return buckets.map((v) => chars[v <= 0 ? 0 : Math.max(1, Math.round((v / hi) * top))]).join('');
}

/** The states a view shows: any with sockets now or within the sparklines' span, and the top's states. */
export function shownStates(view: WatchView): StateName[] {
  const seen = new Set<StateName>(view.topStates);
  for (const h of view.history) for (const [s, n] of Object.entries(h)) if (n) seen.add(s as StateName);
  return STATE_NAMES.filter((s) => seen.has(s) && view.last?.states[s] !== undefined);
}

// A grouping's watch columns on one line: fixed widths, every cell escaped.
function topColumns(top: NonNullable<Sample['top']>): { header: string; cell: (r: TopRow) => string } {
  const cols = GROUPINGS[top.by].watchColumns;
  const pad = (text: string, i: number) => {
    const c = cols[i]!;
    if (i === cols.length - 1) return text;
    return c.align === 'right' ? text.padStart(c.width) : text.padEnd(c.width);
  };
  return {
    header: cols.map((c, i) => pad(c.header, i)).join('  '),
    cell: (r) => cols.map((c, i) => pad(printable(c.cell(r)), i)).join('  '),
  };
}

/** The whole screen for a view: at most `rows` lines, each at most `columns` wide. */
export function renderWatch(view: WatchView, columns: number, rows: number, st: WatchStyle, clock: (d: Date) => string = timeOfDay): string[] {
  const w = Math.max(20, columns);
  const out: string[] = [];
  const s = view.last;
  const att = s?.attribution;
  const every = `every ${formatDuration(view.intervalMs)}`;
  // Each part of the title in its forms, longest first ('' drops it);
  // SHRINK says which to shorten first, so a narrow terminal loses whole
  // words (the name, then the sample's time, ...), never half of one.
  const parts: TitlePart[] = s
    ? [
        { key: 'name', forms: ['tcpcensus watch', ''] },
        { key: 'every', forms: [every, ''] },
        { key: 'clock', forms: [clock(s.at), ''] },
        {
          key: 'sample',
          forms: [
            `sample ${s.seq} (${s.tookMs} ms)${s.skipped ? `, ${s.skipped} skipped` : ''}`,
            `sample ${s.seq}${s.skipped ? `, ${s.skipped} skipped` : ''}`,
          ],
        },
        ...(att
          ? [
              {
                key: 'owners' as const,
                forms: [`owners: ${att.source}${att.full ? ', full' : `, ${att.lookedUp} looked up`}`, `owners: ${att.source}`, ''],
              },
            ]
          : []),
      ]
    : [
        { key: 'name', forms: ['tcpcensus watch', ''] },
        { key: 'every', forms: [every] },
        { key: 'sample', forms: ['taking the first sample...'] },
      ];
  const quit = '  q quits';
  const title = fitTitle(parts, w - quit.length);
  const titleRoom = w - quit.length;
  out.push(
    line(
      [
        [[...title].slice(0, titleRoom).join('').padEnd(titleRoom), '1'],
        [quit, '2'],
      ],
      w,
      st.color,
    ),
  );
  if (view.error) out.push(line([[`sample failed: ${printable(view.error)}`, '31']], w, st.color));
  out.push('');
  if (!s) return out.slice(0, rows);

  // The histogram: STATE COUNT CHANGE BAR SPARKLINE.
  const states = shownStates(view);
  const countW = Math.max(5, String(s.total).length);
  const fixed = 2 + 11 + 2 + countW + 2 + 7 + 2;
  const barW = Math.max(4, Math.min(30, Math.floor((w - fixed) / 3)));
  const sparkW = Math.max(0, w - fixed - barW - 2);
  const per = Math.max(1, Math.ceil(SPARK_SPAN_MS / view.intervalMs / Math.max(1, sparkW)));
  // The time the samples drawn really cover, from the oldest to the newest:
  // after 5 samples a second apart, 4s, not the most the row could hold.
  const drawn = Math.min(view.times.length, sparkW * per);
  const span = spanText(drawn ? view.times[view.times.length - 1]! - view.times[view.times.length - drawn]! : 0);
  out.push(
    line(
      [
        [
          `  ${'STATE'.padEnd(11)}  ${'COUNT'.padStart(countW)}  ${'CHANGE'.padStart(7)}  ${''.padEnd(barW)}  ${sparkW >= 8 ? `LAST ${span}` : ''}`,
          '2',
        ],
      ],
      w,
      st.color,
    ),
  );
  const max = Math.max(1, ...states.map((n) => s.states[n] ?? 0));
  for (const name of states) {
    const n = s.states[name] ?? 0;
    const d = s.delta?.[name];
    const bar = (st.unicode ? '█' : '#').repeat(n > 0 ? Math.max(1, Math.round((n / max) * barW)) : 0).padEnd(barW);
    // Right-aligned: the right edge is now, however little history there is.
    const spark =
      sparkW >= 8
        ? sparkline(
            view.history.map((h) => h[name] ?? 0),
            sparkW,
            per,
            st.unicode,
          ).padStart(sparkW)
        : '';
    out.push(
      line(
        [
          ['  '],
          [name.padEnd(11), ALARM.has(name) ? '31' : undefined],
          [`  ${String(n).padStart(countW)}  `],
          [(d === undefined ? '' : signed(d)).padStart(7), d ? (d > 0 ? '33' : '32') : undefined],
          [`  ${bar}  `],
          [spark, '36'],
        ],
        w,
        st.color,
      ),
    );
  }
  const dTotal = s.delta ? Object.values(s.delta).reduce((a, b) => a + (b ?? 0), 0) : undefined;
  out.push(
    line(
      [
        ['  '],
        ['total'.padEnd(11), '1'],
        [
          `  ${String(s.total).padStart(countW)}  ${(dTotal === undefined ? '' : signed(dTotal)).padStart(7)}  (IPv4 ${s.families.ipv4}, IPv6 ${s.families.ipv6})`,
        ],
      ],
      w,
      st.color,
    ),
  );

  // The top rows.
  const top = s.top;
  if (top) {
    out.push('');
    out.push(
      line(
        [
          [`Top ${GROUPINGS[top.by].title} holding ${top.states.join(', ')}`, '1'],
          [`  (${top.total} sockets)`, '2'],
        ],
        w,
        st.color,
      ),
    );
    const cols = topColumns(top);
    const cw = Math.max(5, ...top.rows.map((r) => String(r.count).length));
    const footer: string[] = [];
    footer.push(`  ${top.unowned} held by no process`);
    if (top.unattributed) footer.push(`  ${top.unattributed} held, owner not found (yet): pending a walk, unreadable, or gone`);
    // procHidden is a mount option as the kernel prints it: no byte of a process's.
    if (top.procHidden) footer.push(`  procfs is mounted ${top.procHidden}: other users' processes are hidden, their sockets show no owner`);
    const room = Math.max(0, rows - out.length - 1 - footer.length);
    if (top.rows.length > 0 && room > 0) {
      out.push(line([[`  ${'COUNT'.padStart(cw)}  ${'CHANGE'.padStart(7)}  ${cols.header}`, '2']], w, st.color));
      for (const r of top.rows.slice(0, room - 1)) {
        const before = view.prevRows.get(r.key);
        const change = s.seq === 1 ? '' : before === undefined ? 'new' : signed(r.count - before);
        out.push(
          line(
            [[`  ${String(r.count).padStart(cw)}  `], [change.padStart(7), change && change !== '0' ? '33' : undefined], [`  ${cols.cell(r)}`]],
            w,
            st.color,
          ),
        );
      }
    } else if (top.total === 0) {
      out.push(`  no ${top.states.join(', ')} sockets`);
    }
    for (const f of footer) out.push(line([[f, '2']], w, st.color));
  }
  return out.slice(0, rows);
}

interface TitlePart {
  key: 'name' | 'every' | 'clock' | 'sample' | 'owners';
  forms: string[];
}
const SHRINK: Array<TitlePart['key']> = ['name', 'sample', 'owners', 'every', 'owners', 'clock'];

/** The title's parts, two spaces apart, shortened in SHRINK's order until they fit `width`. */
export function fitTitle(parts: TitlePart[], width: number): string {
  const at = new Map(parts.map((p) => [p.key, 0]));
  const text = () =>
    parts
      .map((p) => p.forms[at.get(p.key)!]!)
      .filter((t) => t !== '')
      .join('  ');
  for (const key of SHRINK) {
    if ([...text()].length <= width) break;
    const p = parts.find((x) => x.key === key);
    if (p && at.get(key)! < p.forms.length - 1) at.set(key, at.get(key)! + 1);
  }
  return text();
}

/** A span of time for the sparkline header: 0s, 300ms, 4s, 5m. */
function spanText(ms: number): string {
  if (ms <= 0) return '0s';
  const tens = Math.round(ms / 10) * 10;
  if (tens < 1000) return `${tens}ms`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

function timeOfDay(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

/** One line for a sample when stdout is not a terminal. */
export function sampleLine(s: Sample): string {
  const parts = [`${s.at.toISOString()}  total ${s.total}${s.delta ? ` (${signed(Object.values(s.delta).reduce((a, b) => a + (b ?? 0), 0))})` : ''}`];
  for (const [name, n] of Object.entries(s.states) as Array<[StateName, number]>) {
    const d = s.delta?.[name] ?? 0;
    if (n || d) parts.push(`${name} ${n}${s.delta ? ` (${signed(d)})` : ''}`);
  }
  if (s.top) {
    // A process names itself (prctl(PR_SET_NAME), argv): escaped here as on a terminal, for whoever reads the lines.
    const rows = s.top.rows.map((r) => (r.pid !== undefined ? `${printable(r.command)}[${r.pid}] ${r.count}` : `${printable(r.key)} ${r.count}`));
    parts.push(`top ${s.top.states.join(',')}: ${rows.length ? rows.join(', ') : 'none'}`);
  }
  if (s.skipped) parts.push(`skipped ${s.skipped}`);
  return parts.join('  ');
}
