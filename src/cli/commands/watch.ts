/**
 * `tcpcensus watch`: a live view every interval. Its module (../watch/)
 * loads only when run, so the other commands start as fast as before.
 */
import { style } from './shared';
import type { CliCommand } from './types';

export const watch: CliCommand = {
  name: 'watch',
  description:
    'a live view: the state histogram, changes, sparklines and the top owners, every interval (q quits); one line per sample when not on a terminal',
  examples: `
Examples:
  $ tcpcensus watch                            # the histogram and who holds CLOSE_WAIT, every second
  $ tcpcensus watch -s close-wait,fin-wait-2 --by command --interval 5s
  $ tcpcensus watch --json --interval 10s | tee sockets.ndjson`,
  async run(o, cli) {
    const { limit, ...rest } = o;
    const { runWatch } = await import('../watch/run');
    const st = style();
    const sampler = { ...rest, processes: true, ...(limit !== undefined ? { limit } : {}) };
    process.exitCode = await runWatch({ sampler, json: cli.json === true, count: cli.count ?? 0, style: { color: st.color, unicode: st.unicode } });
  },
};
