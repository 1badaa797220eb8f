/**
 * Durations, one set of rules for the library and the CLI: a number is
 * milliseconds (library only; the CLI passes text), text is a number with a
 * unit, as in Prometheus and Go: "250ms", "1s", "1.5s", "2m", "1h". A bare
 * number in text is refused rather than guessed at (is "1" a second or a
 * millisecond?). The result is whole milliseconds.
 */
import { OptionError, opt } from '../errors';
import { shown } from '../common/escape';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** setTimeout's own bound: longer delays fire at once. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

const show = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * Milliseconds of a duration option (`key` names it in errors), within
 * [minMs, maxMs].
 */
export function parseDuration(value: unknown, key: string, minMs: number, maxMs: number = MAX_DELAY_MS): number {
  const range = `from ${show(minMs)} to ${maxMs === MAX_DELAY_MS ? '24 days' : show(maxMs)}`;
  const hint = `${opt(key)} must be a duration such as 500ms, 1s or 2m, ${range}`;
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (!m) throw new OptionError(`${hint}, got ${shown(value)}`, key);
    ms = Number(m[1]) * UNITS[m[2]!]!;
    // 1.5s is 1500 ms; 0.5ms is no whole number of milliseconds.
    ms = Math.round(ms * 1000) / 1000;
  } else {
    throw new OptionError(`${hint}, got ${shown(value)}`, key);
  }
  if (!Number.isInteger(ms) || ms < minMs || ms > maxMs) {
    throw new OptionError(`${hint}, got ${shown(value)}`, key);
  }
  return ms;
}

/** A duration as people write it: "250ms", "1s", "2m", "5m13s", "1h". */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
