/** `tcpcensus top`: who holds the most sockets in a state, grouped --by one of report/groupings.ts. */
import { topProcesses } from '../../api';
import { clearProgress, hiddenOf, netnsFlag, netnsWhere, printJson, renderTopOf, style, unreadable, unreadableOf, withProgress } from './shared';
import type { CliCommand } from './types';
import { out } from '../text/style';

export const top: CliCommand = {
  name: 'top',
  description: 'who holds the most sockets in a state: processes, commands, peers, local ports or users',
  examples: `
Examples (replace: netstat -apn | grep CLOSE_WAIT | awk '{print $7}' | sort | uniq -c | sort -nr | head):
  $ tcpcensus top                              # processes holding CLOSE_WAIT
  $ tcpcensus top --by command -n 5            # all workers of one server together
  $ tcpcensus top -s time-wait --by remote-host
  $ tcpcensus top -s estab --by local-port --dst 10.0.0.0/8
  $ tcpcensus top --by cgroup                  # which service or container holds CLOSE_WAIT (no /proc walk)
  $ tcpcensus top --all-netns                  # who holds CLOSE_WAIT in every network namespace`,
  async run(o, cli) {
    const st = style();
    const report = await topProcesses(withProgress(netnsFlag(o), cli));
    clearProgress();
    if (cli.json) printJson(report);
    else out(`${renderTopOf(report, st, netnsWhere(o))}\n`);
    unreadable(unreadableOf(report), hiddenOf(report), o.procRoot);
  },
};
