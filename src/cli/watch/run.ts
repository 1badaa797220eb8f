/**
 * `tcpcensus watch`'s loop: samples every interval (createSampler) and
 * shows them through the view (./watch.ts). On a terminal, a full screen
 * (the alternate screen, cursor hidden; console_codes(4)), q or Ctrl-C
 * quits, a resize redraws, and the terminal is restored on any exit, a crash
 * included. Not on a terminal, one line per sample (NDJSON with --json).
 * Every line passes the text style's gate (../text/style.ts); only the
 * screen's own control sequences are written around it.
 */
import { writeSync } from 'node:fs';
import { parseDuration } from '../../request/duration';
import { maskNames, parseStates, stateNumber } from '../../request/states';
import { createSampler } from '../../sampler/sampler';
import type { Sample, SamplerOptions } from '../../types';
import { gated, jsonText, printable } from '../text/style';
import { renderWatch, sampleLine, WatchView, type WatchStyle } from './watch';

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
  const tty = Boolean(process.stdout.isTTY); // undefined when not a terminal
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
    process.stdout.write(`${gated(o.json ? jsonText(s) : sampleLine(s))}\n`);
    if (stopped() || (o.count && ++n >= o.count)) break;
  }
  return 0;
}

async function fullScreen(o: WatchOptions, sampler: ReturnType<typeof createSampler>, stopped: () => boolean, stop: () => void): Promise<number> {
  const out = process.stdout;
  const input = process.stdin;
  const view = new WatchView(
    parseDuration(o.sampler.interval ?? 1000, 'interval', 10),
    maskNames(parseStates(o.sampler.states, 1 << stateNumber('CLOSE_WAIT'))),
  );
  let active = true;
  // Restores the terminal once, however we leave: written synchronously, so
  // it also runs from an 'exit' or crash handler.
  const restore = () => {
    if (!active) return;
    active = false;
    if (input.isTTY && input.isRaw) input.setRawMode(false);
    writeSync(out.fd, LEAVE);
  };
  const onExit = () => restore();
  const onCrash = (err: unknown) => {
    restore();
    const text = err instanceof Error ? (process.env.TCPCENSUS_DEBUG === '1' ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`tcpcensus: watch crashed: ${text.split('\n').map(printable).join('\n')}\n`);
    process.exit(1);
  };
  const draw = () => {
    if (!active) return;
    if (process.env.TCPCENSUS_TEST_WATCH_CRASH === String(view.last?.seq)) throw new Error('test crash (TCPCENSUS_TEST_WATCH_CRASH)');
    const frame = renderWatch(view, out.columns || 80, out.rows || 24, o.style);
    out.write(`\x1b[H${frame.map(gated).join('\x1b[K\n')}\x1b[K\x1b[J`);
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
