#!/usr/bin/env node
/**
 * The tcpcensus command line. This file only wires commander to the library
 * (./api) and the text renderers (./format); behaviour lives in the library,
 * and every error goes through fatal().
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { Command, CommanderError } from 'commander';
import {
  countStates,
  snapshot,
  topProcesses,
  TOP_BY,
  type FilterOptions,
  type StateCounts,
  type TopBy,
  type TopReport,
  type WalkOptions,
} from './api';
import { OptionError, SystemError } from './errors';
import { listHeader, listLine, renderExplain, renderStates, renderTop, type Style } from './format';
import { parseStates, maskNames, ALL_MASK } from './states';
import type { SocketRow } from './table';

const HELP_HINT = '(run tcpcensus --help for usage)';

function style(): Style {
  const tty = process.stdout.isTTY === true;
  return {
    color: tty && process.env.NO_COLOR === undefined,
    unicode: tty,
    width: tty ? process.stdout.columns || 100 : 160,
  };
}

function fatal(err: unknown): never {
  const debug = process.env.TCPCENSUS_DEBUG === '1';
  if (err instanceof CommanderError) {
    // commander printed its own message (and the help hint) already.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (err instanceof OptionError) {
    process.stderr.write(`tcpcensus: ${e.message}\n${HELP_HINT}\n`);
  } else if (err instanceof SystemError) {
    process.stderr.write(`tcpcensus: ${e.message} (${err.code}, errno ${err.errno})\n`);
  } else {
    process.stderr.write(`tcpcensus: ${e.message}\n`);
  }
  if (debug) process.stderr.write(`${e.stack}\n`);
  process.exit(err instanceof OptionError ? 2 : 1);
}

// ---- option plumbing ----

interface CommonFlags {
  state?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  sport?: string;
  dport?: string;
  src?: string;
  dst?: string;
  pid?: string;
  json?: boolean;
  threads?: string;
  proc?: string;
}

const collect = (v: string, prev: string[] | undefined) => (prev ?? []).concat(v);

// Whole numbers become numbers; anything else goes through as text so the
// library's error names the bad value.
const numberOrText = (v: string): number | string => (/^\d+$/.test(v) ? Number(v) : v);

function parsePidList(text: string, procRoot = '/proc'): number[] {
  const pids = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (pids.length === 0 || !pids.every((p) => /^[1-9]\d{0,9}$/.test(p))) {
    throw new OptionError(`--pid takes process ids such as 1234 or 1234,5678, got "${text}"`);
  }
  for (const p of pids) {
    if (!existsSync(`${procRoot}/${p}`)) throw new OptionError(`--pid ${p}: no such process`);
  }
  return pids.map(Number);
}

function libOptions(f: CommonFlags, st: Style | undefined): FilterOptions & WalkOptions {
  const o: FilterOptions & WalkOptions = {};
  if (f.state) o.states = f.state;
  if (f.ipv4 && !f.ipv6) o.family = 'ipv4';
  if (f.ipv6 && !f.ipv4) o.family = 'ipv6';
  if (f.sport !== undefined) o.sport = f.sport;
  if (f.dport !== undefined) o.dport = f.dport;
  if (f.src !== undefined) o.src = f.src;
  if (f.dst !== undefined) o.dst = f.dst;
  if (f.pid !== undefined) o.pids = parsePidList(f.pid, f.proc);
  if (f.proc !== undefined) o.procRoot = f.proc;
  if (f.threads !== undefined) o.threads = numberOrText(f.threads) as number;
  if (st && !f.json) {
    const p = progress();
    if (p) o.onProgress = p;
  }
  return o;
}

// A progress line on stderr when it is a terminal and the walk runs longer
// than half a second; erased when the walk ends.
let progressShown = false;
function progress(): ((walked: number, total: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  const start = Date.now();
  return (walked, total) => {
    if (Date.now() - start < 500) return;
    progressShown = true;
    process.stderr.write(`\r\x1b[Kwalking /proc: ${walked} of ${total} processes`);
  };
}
function clearProgress(): void {
  if (progressShown) process.stderr.write('\r\x1b[K');
  progressShown = false;
}

// Said whenever processes could not be read, as root too: root without
// CAP_SYS_PTRACE (a container's default) can list /proc/<pid>/fd but not
// read its links.
function rootHint(top: { unreadableProcesses: number | null }): void {
  if (!top.unreadableProcesses) return;
  const why = process.getuid?.() === 0
    ? 'as root: CAP_SYS_PTRACE missing, or another security context'
    : 'not root; root sees all owners';
  process.stderr.write(`tcpcensus: ${top.unreadableProcesses} processes could not be read (${why})\n`);
}

function addCommon(cmd: Command, stateHelp: string): Command {
  return cmd
    .option('-s, --state <states>', `${stateHelp}; repeatable or comma-separated; netstat or ss names, or groups all, connected, synchronized, bucket, big`, collect)
    .option('-4, --ipv4', 'IPv4 sockets only')
    .option('-6, --ipv6', 'IPv6 sockets only (IPv4-mapped included)')
    .option('--sport <port>', 'local port or range, e.g. 443 or 1000-2000 (filtered in the kernel)')
    .option('--dport <port>', 'remote port or range')
    .option('--src <addr>', 'local address or prefix, e.g. 10.0.0.0/8 or fe80::/10')
    .option('--dst <addr>', 'remote address or prefix')
    .option('--json', 'print JSON')
    .option('--threads <n>', 'threads for the /proc walk (1-8, default: cores)');
}

const addPid = (cmd: Command) => cmd
  .option('--pid <pids>', 'only sockets these processes hold, e.g. 1234,5678 (walks only their fds)')
  .option('--proc <dir>', 'where procfs is mounted, e.g. /host/proc in a container (default /proc)');

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// ---- commands ----

async function reportCmd(f: CommonFlags & { limit?: string }): Promise<void> {
  const st = style();
  const base = libOptions({ ...f, state: undefined }, st);
  const states: StateCounts = await countStates(base);
  const top: TopReport = await topProcesses({
    ...base,
    states: f.state ?? ['CLOSE_WAIT'],
    limit: f.limit === undefined ? 10 : (numberOrText(f.limit) as number),
  });
  clearProgress();
  if (f.json) printJson({ states, top });
  else process.stdout.write(`${renderStates(states, st)}\n\n${renderTop(top, st)}\n`);
  rootHint(top);
}

async function statesCmd(f: CommonFlags): Promise<void> {
  const st = style();
  const counts = await countStates(libOptions(f, st));
  clearProgress();
  if (f.json) printJson(counts);
  else process.stdout.write(`${renderStates(counts, st)}\n`);
}

async function topCmd(f: CommonFlags & { by?: string; limit?: string }): Promise<void> {
  const st = style();
  const top = await topProcesses({
    ...libOptions(f, st),
    by: (f.by ?? 'process') as TopBy,
    limit: f.limit === undefined ? 10 : (numberOrText(f.limit) as number),
  });
  clearProgress();
  if (f.json) printJson(top);
  else process.stdout.write(`${renderTop(top, st)}\n`);
  rootHint(top);
}

// Writes lines in 64 KiB chunks, waiting for the pipe to drain, so a million
// sockets never sit in one string.
async function writeLines(lines: Iterable<string>): Promise<void> {
  let buf = '';
  for (const line of lines) {
    buf += line + '\n';
    if (buf.length >= 65536) {
      if (!process.stdout.write(buf)) await once(process.stdout, 'drain');
      buf = '';
    }
  }
  if (buf) process.stdout.write(buf);
}

function* take<T>(it: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  let i = 0;
  for (const v of it) {
    yield v;
    if (++i >= n) return;
  }
}

async function listCmd(f: CommonFlags & { processes?: boolean; limit?: string; ndjson?: boolean }): Promise<void> {
  const st = style();
  let limit = Infinity;
  if (f.limit !== undefined) {
    const n = numberOrText(f.limit);
    if (typeof n !== 'number' || n < 1) throw new OptionError(`--limit must be a positive integer, got "${f.limit}"`);
    limit = n;
  }
  const table = await snapshot({ ...libOptions(f, st), processes: f.processes === true });
  clearProgress();
  const rows = take(table, limit);
  const full = (r: SocketRow) => ({ ...r, pid: r.pid ?? null, command: r.command ?? null });
  if (f.ndjson) {
    await writeLines((function* () { for (const r of rows) yield JSON.stringify(full(r)); })());
  } else if (f.json) {
    let first = true;
    await writeLines((function* () {
      yield '[';
      for (const r of rows) {
        yield (first ? '' : ',') + JSON.stringify(full(r));
        first = false;
      }
      yield ']';
    })());
  } else {
    const withProcs = f.processes === true;
    await writeLines((function* () {
      yield listHeader(withProcs);
      for (const r of rows) yield listLine(r, withProcs);
    })());
  }
  if (table.owners) rootHint({ unreadableProcesses: table.owners.unreadableProcesses });
}

function explainCmd(state: string | undefined): void {
  const names = maskNames(state === undefined ? ALL_MASK : parseStates([state]));
  process.stdout.write(`${renderExplain(names)}\n`);
}

// ---- wiring ----

const EXAMPLES = {
  report: `
Examples:
  $ tcpcensus                       # states, then who holds CLOSE_WAIT
  $ tcpcensus report --json         # the same as one JSON document`,
  states: `
Examples (replace: netstat -nat | awk '{print $6}' | sort | uniq -c | sort -r):
  $ tcpcensus states
  $ tcpcensus states -4 --sport 443 --json`,
  top: `
Examples (replace: netstat -apn | grep CLOSE_WAIT | awk '{print $7}' | sort | uniq -c | sort -nr | head):
  $ tcpcensus top                              # processes holding CLOSE_WAIT
  $ tcpcensus top --by command -n 5            # all workers of one server together
  $ tcpcensus top -s time-wait --by remote-host
  $ tcpcensus top -s estab --by local-port --dst 10.0.0.0/8`,
  list: `
Examples (replace: netstat -tanp | grep :5432):
  $ tcpcensus list -s close-wait -p --dport 5432
  $ tcpcensus list --pid 1234 --ndjson | jq .remoteAddress`,
  explain: `
Examples:
  $ tcpcensus explain close-wait
  $ tcpcensus explain`,
};

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('tcpcensus')
    .description('Count TCP sockets by state and find the processes that hold them (netlink sock_diag + /proc).')
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError(HELP_HINT);

  addPid(addCommon(program.command('report', { isDefault: true }), 'states for the top section (default CLOSE_WAIT)'))
    .description('sockets by state, then the top processes holding CLOSE_WAIT (the default command)')
    .option('-n, --limit <n>', 'rows in the top section', undefined)
    .addHelpText('after', EXAMPLES.report)
    .action(reportCmd);

  addCommon(program.command('states'), 'states to count (default: all but CLOSE)')
    .description('the histogram of TCP sockets by state')
    .addHelpText('after', EXAMPLES.states)
    .action(statesCmd);

  addPid(addCommon(program.command('top'), 'states to look at (default CLOSE_WAIT)'))
    .description('who holds the most sockets in a state: processes, commands, peers, local ports or users')
    .option('--by <grouping>', `group by ${TOP_BY.join(', ')} (default process)`)
    .option('-n, --limit <n>', 'rows to show (default 10)')
    .addHelpText('after', EXAMPLES.top)
    .action(topCmd);

  addPid(addCommon(program.command('list'), 'states to list (default: all but CLOSE)'))
    .description('one row per socket, like ss -tan')
    .option('-p, --processes', 'add the owning pid and command')
    .option('-n, --limit <n>', 'at most this many rows')
    .option('--ndjson', 'one JSON object per line')
    .addHelpText('after', EXAMPLES.list)
    .action(listCmd);

  program
    .command('explain')
    .argument('[state]', 'a state name (netstat or ss spelling)')
    .description('what each TCP state means, who waits for what, and what many of them say')
    .addHelpText('after', EXAMPLES.explain)
    .action(explainCmd);

  // With a default command, commander would hand an unknown word to it as an
  // argument; name it as an unknown command instead.
  const first = argv[2];
  if (first !== undefined && !first.startsWith('-')) {
    const names = program.commands.map((c) => c.name()).concat('help');
    if (!names.includes(first)) {
      const best = names.map((n) => [n, editDistance(first, n)] as const).sort((a, b) => a[1] - b[1])[0]!;
      const hint = best[1] <= Math.max(2, Math.floor(first.length / 3)) ? ` (Did you mean ${best[0]}?)` : '';
      process.stderr.write(`error: unknown command '${first}'${hint}; commands: ${names.join(', ')}\n${HELP_HINT}\n`);
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

