/**
 * What the one-shot commands share: the text style for this terminal, the
 * /proc walk's progress line, the once-said lines about processes that could
 * not be read, and the two result shapes (one namespace, or --all-netns).
 * Every line here goes to stderr, so stdout stays what was asked for.
 */
import { privilege } from '../../core/privilege';
import type { NetnsStateCounts, NetnsTopReport, StateCounts, TopReport } from '../../types';
import { procHiddenLine, renderNetnsStates, renderNetnsTop, renderStates, renderTop, unreadableLine, type Style } from '../text/format';
import type { CliFlags, FlagOptions } from '../flags';
import { jsonText, out, say } from '../text/style';

export function style(): Style {
  const tty = Boolean(process.stdout.isTTY); // undefined when not a terminal, whatever @types/node says
  return {
    // no-color.org: NO_COLOR turns colour off when present and not empty.
    color: tty && !process.env.NO_COLOR,
    unicode: tty,
    width: tty ? process.stdout.columns || 100 : 160,
  };
}

// A progress line on stderr when it is a terminal and the walk runs longer
// than half a second; erased when the walk ends.
let progressShown = false;
export function withProgress<T extends object>(o: T, cli: CliFlags): T {
  if (!process.stderr.isTTY || cli.json) return o;
  const start = Date.now();
  const onProgress = (walked: number, total: number) => {
    if (Date.now() - start < 500) return;
    progressShown = true;
    process.stderr.write(`\r\x1b[Kwalking /proc: ${walked} of ${total} processes`);
  };
  return { ...o, onProgress };
}
export function clearProgress(): void {
  if (progressShown) process.stderr.write('\r\x1b[K');
  progressShown = false;
}

// Said once, on stderr, with the hint that fits who we are.
export function unreadable(n: number | null | undefined, hidden?: string | null, procRoot?: string): void {
  if (n) say(unreadableLine(n, privilege()));
  if (hidden) say(procHiddenLine(hidden, procRoot ?? '/proc'));
}

export function printJson(value: unknown): void {
  out(`${jsonText(value, 2)}\n`);
}

// --all-netns or not, known at run time: the calls then type their result as either shape.
export const netnsFlag = <T extends { allNetns?: boolean }>(o: T) => ({ ...o, allNetns: o.allNetns === true });

export const isNetnsCounts = (c: StateCounts | NetnsStateCounts): c is NetnsStateCounts => 'namespaces' in c;
export const isNetnsTop = (t: TopReport | NetnsTopReport): t is NetnsTopReport => 'namespaces' in t;

// The walk meets the same unreadable processes in every namespace: said once.
export function unreadableOf(top: TopReport | NetnsTopReport): number | null {
  return isNetnsTop(top) ? Math.max(0, ...top.namespaces.map((n) => n.unreadableProcesses ?? 0)) : top.unreadableProcesses;
}
export const hiddenOf = (top: TopReport | NetnsTopReport): string | null =>
  isNetnsTop(top) ? (top.namespaces.find((n) => n.procHidden)?.procHidden ?? null) : top.procHidden;

export const renderCounts = (c: StateCounts | NetnsStateCounts, st: Style, where?: string) =>
  isNetnsCounts(c) ? renderNetnsStates(c, st) : renderStates(c, st, where);
export const renderTopOf = (t: TopReport | NetnsTopReport, st: Style, where?: string, note?: string) =>
  isNetnsTop(t) ? renderNetnsTop(t, st) : renderTop(t, st, where, note);

// The title's words for --netns.
export const netnsWhere = (o: FlagOptions) => (o.netns !== undefined ? `in netns ${o.netns}` : undefined);
