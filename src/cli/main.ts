#!/usr/bin/env node
/**
 * The tcpcensus command line. This file only wires commander to the
 * commands (./commands/, one file each): their flags come from the option
 * table through ./flags.ts, their results become text through ./text/, and
 * every error goes through fatal(), which picks the exit code and says it in
 * one line, with options named by their flags (docs/errors.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../core/package-root';
import { LimitError, OptionError, SystemError } from '../errors';
import { cut, printable } from '../common/escape';
import { closest } from '../common/suggest';
import { COMMANDS } from './commands';
import { addFlags, cliWords, flagOptions } from './flags';

const HELP_HINT = '(run tcpcensus --help for usage)';

// commander's own errors ("error: unknown option '--x'\n(Did you mean --y?)")
// in our form: one line that starts "tcpcensus:", the suggestion on it, the
// echoed word cut and escaped like every other.
function commanderLine(text: string): string {
  const [first = '', ...rest] = text
    .replace(/^error: /, '')
    .trimEnd()
    .split('\n');
  const near = rest.map((l) => /^\(Did you mean (.*)\?\)$/.exec(l.trim())?.[1]).find((m) => m !== undefined);
  const line = first.replace(/'([^']*)'/g, (_m, w: string) => `'${cut(w)}'`);
  return `tcpcensus: ${printable(line)}${near ? ` (did you mean ${printable(near)}?)` : ''}\n`;
}

function fatal(err: unknown): never {
  if (err instanceof CommanderError) {
    // commander printed its own message (and the help hint) already.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // Options named in the words the user typed ("--pid", not "pids").
  let line = err instanceof OptionError || err instanceof LimitError ? err.worded(cliWords) : e.message;
  if (err instanceof SystemError) line += ` (${err.code})`;
  const hint =
    err instanceof SystemError && err.syscall === 'setns' && err.code === 'EPERM'
      ? 'tcpcensus: entering another network namespace needs CAP_SYS_ADMIN (root)\n'
      : '';
  process.stderr.write(`tcpcensus: ${printable(line)}\n${hint}${err instanceof OptionError ? `${HELP_HINT}\n` : ''}`);
  if (process.env.TCPCENSUS_DEBUG === '1') process.stderr.write(`${e.stack}\n`);
  process.exit(err instanceof OptionError ? 2 : 1);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('tcpcensus')
    .description('Count TCP sockets by state and find the processes that hold them (netlink sock_diag + /proc).')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError(HELP_HINT)
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error: ') ? commanderLine(text) : text) });

  for (const c of COMMANDS) {
    const cmd = program.command(c.name, c.isDefault ? { isDefault: true } : {});
    if (c.argument) cmd.argument(c.argument.syntax, c.argument.help);
    if (c.name !== 'explain') addFlags(cmd, c.name);
    cmd
      .description(c.description)
      .addHelpText('after', c.examples)
      .action(async (...args: unknown[]) => {
        // commander passes the positional arguments, then the parsed flags, then the command.
        const parsed = (args.at(-2) ?? {}) as Record<string, unknown>;
        const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
        const { options, cli } = c.name === 'explain' ? { options: {}, cli: {} } : flagOptions(parsed, c.name);
        await c.run(options, cli, positional);
      });
  }

  // With a default command, commander would hand an unknown word to it as an
  // argument; name it as an unknown command instead.
  const first = argv[2];
  if (first !== undefined && !first.startsWith('-')) {
    const names = program.commands.map((c) => c.name()).concat('help');
    if (!names.includes(first)) {
      const near = closest(first, names);
      process.stderr.write(
        `tcpcensus: unknown command '${cut(first)}'${near ? ` (did you mean ${near}?)` : ''}; commands: ${names.join(', ')}\n${HELP_HINT}\n`,
      );
      process.exit(2);
    }
  }
  await program.parseAsync(argv);
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0); // the reader went away (| head)
  fatal(err);
});

main(process.argv).catch(fatal);
