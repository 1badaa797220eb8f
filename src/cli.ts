#!/usr/bin/env node
/**
 * The tcpcensus command line. This file only wires commander to the library
 * (./api) and the text renderers (./format); every error goes through fatal().
 */
import { Command, CommanderError } from 'commander';
import { countStatesSync, topProcessesSync } from './api';
import { OptionError, SystemError } from './errors';
import { renderStates, renderTop, type Style } from './format';

function style(): Style {
  const tty = process.stdout.isTTY === true;
  return {
    color: tty && process.env.NO_COLOR === undefined,
    unicode: tty,
    width: tty ? process.stdout.columns || 100 : 120,
  };
}

function fatal(err: unknown): never {
  const debug = process.env.TCPCENSUS_DEBUG === '1';
  if (err instanceof CommanderError) {
    // commander already printed its message.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof OptionError) {
    process.stderr.write(`tcpcensus: ${err.message}\n(see tcpcensus --help)\n`);
    if (debug) process.stderr.write(`${err.stack}\n`);
    process.exit(2);
  }
  if (err instanceof SystemError) {
    process.stderr.write(`tcpcensus: ${err.message} (${err.code})\n`);
    if (debug) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`tcpcensus: ${e.message}\n`);
  if (debug) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

function report(): void {
  const st = style();
  const counts = countStatesSync();
  const top = topProcessesSync({ states: ['CLOSE_WAIT'], limit: 10 });
  process.stdout.write(`${renderStates(counts, st)}\n\n${renderTop(top, st)}\n`);
}

function main(argv: string[]): void {
  const program = new Command('tcpcensus')
    .description('Count TCP sockets by state and find the processes that hold them (netlink sock_diag + /proc).')
    .exitOverride()
    .showSuggestionAfterError(true);

  program
    .command('report', { isDefault: true })
    .description('sockets by state, then the top 10 processes holding CLOSE_WAIT (the default)')
    .action(report);

  program.parse(argv);
}

try {
  main(process.argv);
} catch (err) {
  fatal(err);
}
