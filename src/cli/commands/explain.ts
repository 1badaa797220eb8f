/** `tcpcensus explain [state]`: what each TCP state means (RFC 793's diagram in words; tcp(7)). */
import { ALL_MASK, maskNames, parseStates } from '../../request/states';
import { renderExplain } from '../text/format';
import type { CliCommand } from './types';
import { out } from '../text/style';

export const explain: CliCommand = {
  name: 'explain',
  argument: { syntax: '[state]', help: 'a state name (netstat or ss spelling)' },
  description: 'what each TCP state means, who waits for what, and what many of them say',
  examples: `
Examples:
  $ tcpcensus explain close-wait
  $ tcpcensus explain`,
  run(_o, _cli, [state]) {
    const names = maskNames(state === undefined ? ALL_MASK : parseStates([state]));
    out(`${renderExplain(names)}\n`);
  },
};
