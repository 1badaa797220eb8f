/** `tcpcensus states`: the histogram of TCP sockets by state (netstat -nat | awk | sort | uniq -c). */
import { countStates } from '../../api';
import { clearProgress, netnsFlag, netnsWhere, printJson, renderCounts, style, withProgress } from './shared';
import type { CliCommand } from './types';
import { out } from '../text/style';

export const states: CliCommand = {
  name: 'states',
  description: 'the histogram of TCP sockets by state',
  examples: `
Examples (replace: netstat -nat | awk '{print $6}' | sort | uniq -c | sort -r):
  $ tcpcensus states
  $ tcpcensus states -4 --sport 443 --json
  $ tcpcensus states --all-netns               # every network namespace, with totals per namespace`,
  async run(o, cli) {
    const st = style();
    const counts = await countStates(withProgress(netnsFlag(o), cli));
    clearProgress();
    if (cli.json) printJson(counts);
    else out(`${renderCounts(counts, st, netnsWhere(o))}\n`);
  },
};
