/** The CLI's commands, in --help order: one line each; main.ts wires them. */
import { explain } from './explain';
import { list } from './list';
import { report } from './report';
import { serve } from './serve';
import { states } from './states';
import { top } from './top';
import type { CliCommand } from './types';
import { watch } from './watch';

export const COMMANDS: readonly CliCommand[] = [report, states, top, list, watch, serve, explain];
