/**
 * `tcpcensus report` (the default command): sockets by state, then who
 * holds the sockets of the chosen states (CLOSE_WAIT by default), or the
 * cgroups that do when owners cannot be read (../owners-rule.ts).
 */
import { countStates, topProcesses } from '../../api';
import { privilege } from '../../core/privilege';
import { TcpcensusError } from '../../errors';
import { cgroupsInsteadBecause } from '../owners-rule';
import { unreadableWhy } from '../text/format';
import {
  clearProgress,
  isNetnsTop,
  netnsFlag,
  netnsWhere,
  printJson,
  renderCounts,
  renderTopOf,
  style,
  unreadable,
  unreadableOf,
  hiddenOf,
  withProgress,
} from './shared';
import type { CliCommand } from './types';
import { out } from '../text/style';

export const report: CliCommand = {
  name: 'report',
  isDefault: true,
  description: 'sockets by state, then the top processes holding CLOSE_WAIT (the default command)',
  examples: `
Examples:
  $ tcpcensus                       # states, then who holds CLOSE_WAIT
  $ tcpcensus report --json         # the same as one JSON document
  $ tcpcensus --netns pid:4242      # in the network namespace of process 4242 (a container)`,
  async run(o, cli) {
    const st = style();
    const { states, limit, maxSockets, ...base } = o;
    // Independent calls: both dumps (and the owner join) run on the pool at once.
    const [counts, first] = await Promise.all([
      countStates(netnsFlag(base)),
      topProcesses(withProgress(netnsFlag({ ...base, states, limit, maxSockets }), cli)),
    ]);
    let top = first;
    // Owners that cannot be read: the cgroups that hold the sockets instead.
    const because = isNetnsTop(top) ? null : cgroupsInsteadBecause(top, base.pids !== undefined, unreadableWhy(privilege()));
    let unreadableCount = unreadableOf(top);
    if (because) {
      try {
        top = await topProcesses({ ...base, states, limit, maxSockets, by: 'cgroup' });
        unreadableCount = null; // said in the section instead
      } catch (e) {
        if (!(e instanceof TcpcensusError && e.code === 'ERR_TCPCENSUS_UNSUPPORTED')) throw e;
      }
    }
    const switched = because !== null && !isNetnsTop(top) && top.by === 'cgroup';
    clearProgress();
    if (cli.json) {
      printJson({ states: counts, top, topFallback: switched ? because : null });
    } else {
      const note = switched ? `showing cgroups, not processes: ${because}` : undefined;
      out(`${renderCounts(counts, st, netnsWhere(o))}\n\n${renderTopOf(top, st, netnsWhere(o), note)}\n`);
    }
    unreadable(unreadableCount, hiddenOf(first), o.procRoot);
  },
};
