/**
 * The CLI's flags, generated from the option table (request/option-table.ts):
 * each command gets the flags whose entry has help for it, in the table's
 * order; what commander parsed becomes library options by the same entries;
 * and an error about an option is worded with the flag that sets it
 * ("--max-sockets", not "maxSockets"). No flag is written anywhere else.
 */
import type { Command } from 'commander';
import type { Namer } from '../errors';
import { flagName, flagsOf, KEYS, OPTIONS, type Command as CommandName, type Flag } from '../request/option-table';
import type { MetricsOptions, SamplerOptions, SnapshotOptions, TopOptions } from '../types';

/** Every option a flag can set; each command passes on the ones its call takes (the library checks them). */
export type FlagOptions = TopOptions &
  SnapshotOptions &
  SamplerOptions &
  MetricsOptions & { allNetns?: boolean; listen?: string; requestTimeout?: string };

/** The flags no library call takes (their entries name no call): how to print, when to stop. */
export interface CliFlags {
  json?: boolean;
  ndjson?: boolean;
  count?: number;
}

export interface Parsed {
  options: FlagOptions;
  cli: CliFlags;
}

// A repeatable flag collects every use; each use may be comma-separated (the state parser splits them).
const collect = (v: string, prev: string[] | undefined) => (prev ?? []).concat(v);

// commander's name for a flag's value: the long flag in camelCase.
const attribute = (f: Flag): string => (/--([a-z0-9-]+)/.exec(f.flags)?.[1] ?? '').replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Adds to a command every flag the option table gives it. */
export function addFlags(cmd: Command, name: CommandName): Command {
  for (const key of KEYS) {
    for (const f of flagsOf(key)) {
      const help = f.help[name];
      if (help === undefined) continue;
      if (f.repeatable) cmd.option(f.flags, help, collect);
      else cmd.option(f.flags, help);
    }
  }
  return cmd;
}

/**
 * Library options from what commander parsed for a command. Numbers are
 * checked here, on the text; everything else goes on as typed and is
 * checked with the library's options. Two flags of one option that
 * disagree (-4 and -6) leave it unset: both families.
 */
export function flagOptions(parsed: Record<string, unknown>, name: CommandName): Parsed {
  // Checked by the library (options) and by their own entries (cli): typed as what they become.
  const options: Record<string, unknown> & FlagOptions = {};
  const cli: Record<string, unknown> & CliFlags = {};
  for (const key of KEYS) {
    const values: unknown[] = [];
    for (const f of flagsOf(key)) {
      if (f.help[name] === undefined) continue;
      const given = parsed[attribute(f)];
      if (given === undefined || given === false) continue;
      if (typeof given !== 'string') values.push(given === true ? (f.value ?? true) : given);
      else values.push(f.fromText ? f.fromText(given) : given);
    }
    if (values.length === 1) (OPTIONS[key].calls.length > 0 ? options : cli)[key] = values[0];
  }
  return { options, cli };
}

/** The CLI's words for an option in a message: its flag, and a value as typed after it. */
export const cliWords: Namer = (key, value) => `${flagName(key)}${value === undefined ? '' : ` ${value}`}`;
