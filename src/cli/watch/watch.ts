/**
 * `tcpcensus watch`: samples every interval and shows them.
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
 * unit-tested without a terminal; runWatch is the loop around it.
 */
import { formatDuration, parseDuration } from '../../request/duration';
import { printable } from '../../common/escape';
import { GROUPINGS } from '../../report/groupings';
import { createSampler } from '../../sampler/sampler';
import { maskNames, parseStates, STATE_NAMES, stateNumber, type StateName } from '../../request/states';
import type { Sample, SamplerOptions, TopRow } from '../../types';

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

  constructor(readonly intervalMs: number, readonly topStates: StateName[]) {}

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
    out += color && sgr ? `\x1b[${sgr}m${t}\x1b[0m` : t;
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
      { key: 'sample', forms: [`sample ${s.seq} (${s.tookMs} ms)${s.skipped ? `, ${s.skipped} skipped` : ''}`, `sample ${s.seq}${s.skipped ? `, ${s.skipped} skipped` : ''}`] },
      ...(att ? [{ key: 'owners' as const, forms: [`owners: ${att.source}${att.full ? ', full' : `, ${att.lookedUp} looked up`}`, `owners: ${att.source}`, ''] }] : []),
    ]
    : [{ key: 'name', forms: ['tcpcensus watch', ''] }, { key: 'every', forms: [every] }, { key: 'sample', forms: ['taking the first sample...'] }];
  const quit = '  q quits';
  const title = fitTitle(parts, w - quit.length);
  const titleRoom = w - quit.length;
  out.push(line([[[...title].slice(0, titleRoom).join('').padEnd(titleRoom), '1'], [quit, '2']], w, st.color));
  if (view.error) out.push(line([[`sample failed: ${view.error}`, '31']], w, st.color));
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
  out.push(line([[`  ${'STATE'.padEnd(11)}  ${'COUNT'.padStart(countW)}  ${'CHANGE'.padStart(7)}  ${''.padEnd(barW)}  ${sparkW >= 8 ? `LAST ${span}` : ''}`, '2']], w, st.color));
  const max = Math.max(1, ...states.map((n) => s.states[n] ?? 0));
  for (const name of states) {
    const n = s.states[name] ?? 0;
    const d = s.delta?.[name];
    const bar = (st.unicode ? '█' : '#').repeat(n > 0 ? Math.max(1, Math.round((n / max) * barW)) : 0).padEnd(barW);
    // Right-aligned: the right edge is now, however little history there is.
    const spark = sparkW >= 8 ? sparkline(view.history.map((h) => h[name] ?? 0), sparkW, per, st.unicode).padStart(sparkW) : '';
    out.push(line([
      ['  '], [name.padEnd(11), ALARM.has(name) ? '31' : undefined],
      [`  ${String(n).padStart(countW)}  `], [(d === undefined ? '' : signed(d)).padStart(7), d ? (d > 0 ? '33' : '32') : undefined],
      [`  ${bar}  `], [spark, '36'],
    ], w, st.color));
  }
  const dTotal = s.delta ? Object.values(s.delta).reduce((a, b) => a + (b ?? 0), 0) : undefined;
  out.push(line([['  '], ['total'.padEnd(11), '1'], [`  ${String(s.total).padStart(countW)}  ${(dTotal === undefined ? '' : signed(dTotal)).padStart(7)}  (IPv4 ${s.families.ipv4}, IPv6 ${s.families.ipv6})`]], w, st.color));

  // The top rows.
  const top = s.top;
  if (top) {
    out.push('');
    out.push(line([[`Top ${GROUPINGS[top.by].title} holding ${top.states.join(', ')}`, '1'], [`  (${top.total} sockets)`, '2']], w, st.color));
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
        out.push(line([[`  ${String(r.count).padStart(cw)}  `], [change.padStart(7), change && change !== '0' ? '33' : undefined], [`  ${cols.cell(r)}`]], w, st.color));
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
  const text = () => parts.map((p) => p.forms[at.get(p.key)!]!).filter((t) => t !== '').join('  ');
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

// ---- the loop ----

export interface WatchOptions {
  sampler: SamplerOptions;
  json: boolean;
  /** Stop after this many samples (0: until q, Ctrl-C or a signal). */
  count: number;
  style: WatchStyle;
}

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J'; // alternate screen, hide the cursor, clear
const LEAVE = '\x1b[?25h\x1b[?1049l'; // show the cursor, back to the normal screen

/** Runs watch until q, Ctrl-C, a signal, or `count` samples. Resolves with the exit code. */
export async function runWatch(o: WatchOptions): Promise<number> {
  const sampler = createSampler(o.sampler);
  const tty = process.stdout.isTTY === true;
  let stopped = false;
  const stop = () => {
    stopped = true;
    void sampler.close();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, stop);
  try {
    return tty ? await fullScreen(o, sampler, () => stopped, stop) : await lines(o, sampler, () => stopped);
  } finally {
    for (const sig of signals) process.removeListener(sig, stop);
    await sampler.close();
  }
}

async function lines(o: WatchOptions, sampler: ReturnType<typeof createSampler>, stopped: () => boolean): Promise<number> {
  let n = 0;
  for await (const s of sampler) {
    process.stdout.write(`${o.json ? JSON.stringify(s) : sampleLine(s)}\n`);
    if (stopped() || (o.count && ++n >= o.count)) break;
  }
  return 0;
}

async function fullScreen(o: WatchOptions, sampler: ReturnType<typeof createSampler>, stopped: () => boolean, stop: () => void): Promise<number> {
  const out = process.stdout;
  const input = process.stdin;
  const view = new WatchView(parseDuration(o.sampler.interval ?? 1000, 'interval', 10), maskNames(parseStates(o.sampler.states, 1 << stateNumber('CLOSE_WAIT'))));
  let active = true;
  // Restores the terminal once, however we leave: written synchronously, so
  // it also runs from an 'exit' or crash handler.
  const restore = () => {
    if (!active) return;
    active = false;
    if (input.isTTY && input.isRaw) input.setRawMode(false);
    require('node:fs').writeSync(out.fd, LEAVE);
  };
  const onExit = () => restore();
  const onCrash = (err: unknown) => {
    restore();
    process.stderr.write(`tcpcensus: watch crashed: ${err instanceof Error ? (process.env.TCPCENSUS_DEBUG === '1' ? err.stack : err.message) : String(err)}\n`);
    process.exit(1);
  };
  const draw = () => {
    if (!active) return;
    if (process.env.TCPCENSUS_TEST_WATCH_CRASH === String(view.last?.seq)) throw new Error('test crash (TCPCENSUS_TEST_WATCH_CRASH)');
    const frame = renderWatch(view, out.columns || 80, out.rows || 24, o.style);
    out.write(`\x1b[H${frame.join('\x1b[K\n')}\x1b[K\x1b[J`);
  };
  const onResize = () => {
    out.write('\x1b[2J');
    draw();
  };
  const onKey = (data: Buffer) => {
    for (const b of data) if (b === 0x71 || b === 0x51 || b === 0x03 || b === 0x04) stop(); // q, Q, Ctrl-C, Ctrl-D
  };
  process.on('exit', onExit);
  process.on('uncaughtException', onCrash);
  out.write(ENTER);
  if (input.isTTY) {
    input.setRawMode(true);
    input.on('data', onKey);
    input.resume();
  }
  out.on('resize', onResize);
  try {
    draw();
    let n = 0;
    for (;;) {
      let r: IteratorResult<Sample>;
      try {
        r = await sampler.next();
      } catch (err) {
        // The first sample must work (bad procfs, netlink refused); a later
        // failure is shown and the next tick tries again.
        if (!view.last) throw err;
        view.fail(err instanceof Error ? err.message : String(err));
        draw();
        continue;
      }
      if (r.done || stopped()) break;
      view.push(r.value);
      draw();
      if (o.count && ++n >= o.count) break;
    }
    return 0;
  } finally {
    out.removeListener('resize', onResize);
    input.removeListener('data', onKey);
    input.pause();
    restore();
    process.removeListener('exit', onExit);
    process.removeListener('uncaughtException', onCrash);
  }
}
