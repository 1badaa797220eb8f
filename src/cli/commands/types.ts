/**
 * What a command is, for the registry (./index.ts) that main.ts wires into
 * commander: its name, what it says in --help, and what it does with the
 * options its flags gave (cli/flags.ts). A new command is one file and one
 * line in the registry; its flags are entries of the option table.
 */
import type { Command as CommandName } from '../../request/option-table';
import type { CliFlags, FlagOptions } from '../flags';

export interface CliCommand {
  name: CommandName | 'explain';
  description: string;
  /** The examples after --help. */
  examples: string;
  /** Runs when no command is named. */
  isDefault?: boolean;
  /** A positional argument, as commander writes it ('[state]'), with its help. */
  argument?: { syntax: string; help: string };
  run(options: FlagOptions, cli: CliFlags, args: string[]): Promise<void> | void;
}
