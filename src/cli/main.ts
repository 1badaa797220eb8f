#!/usr/bin/env node
/**
 * The tcpcensus command line. This file only wires commander to the library:
 * flags become library options through flagOptions (options.ts, where every
 * rule lives), results become text through format.ts, and every error goes
 * through fatal(), which picks the exit code and says it in one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../core/package-root';
import { countStates, topProcesses } from '../api';
import { snapshotStream } from '../stream';
import { LimitError, OptionError, SystemError, TcpcensusError } from '../errors';
import { cut, printable } from '../common/escape';
import {
  listHeader, listLine, renderExplain, renderNetnsStates, renderNetnsTop, renderStates, renderTop, sourceLines, procHiddenLine, unreadableLine, unreadableWhy, type Style,
} from './text/format';
import { countFlag, DEFAULT_PORT, flagOptions, type Flags, type FlagOptions } from '../request/options';
import { privilege } from '../core/privilege';
import { cgroupsInsteadBecause } from './owners-rule';
import { parseStates, maskNames, ALL_MASK } from '../request/states';
import { closest } from '../common/suggest';
import type { SocketRow, SocketTable } from '../report/table';
import { TOP_BY, type NetnsLabel, type NetnsStateCounts, type NetnsTopReport, type StateCounts, type TopReport } from '../types';

const HELP_HINT = '(run tcpcensus --help for usage)';

// The flag that sets each library option, so an option error reads in the
// words the user typed ("--pid", not "pids").
const FLAG: Record<string, string> = {
  states: '--state',
  sport: '--sport',
  dport: '--dport',
  src: '--src',
  dst: '--dst',
  pids: '--pid',
  threads: '--threads',
  procRoot: '--proc',
  maxSockets: '--max-sockets',
  limit: '--limit',
  by: '--by',
  source: '--source',
  owners: '--owners',
  netns: '--netns',
  allNetns: '--all-netns',
  cgroup: '--cgroup',
  interval: '--interval',
  fullEvery: '--full-every',
  ownerStates: '--owner-states',
  top: '--top',
  topProcesses: '--top-processes',
  minInterval: '--min-interval',
  listen: '--listen',
  requestTimeout: '--request-timeout',
  count: '--count',
};

const OPTION_WORDS: Array<[RegExp, string]> = [
  [/\bwith netns:/, 'with --netns:'],
  [/\bwith allNetns:/, 'with --all-netns:'],
  [/: allNetns already/, ': --all-netns already'],
  [/(?<= )netns "pid:(\d+|PID)"/, '--netns pid:$1'],
  [/use source auto or netlink/, 'use --source auto or netlink'],
  [/ and (sport|dport) (\d+)\)/, ' and --$1 $2)'],
];

// commander's own errors ("error: unknown option '--x'\n(Did you mean --y?)")
// in our form: one line that starts "tcpcensus:", the suggestion on it, the
// echoed word cut and escaped like every other.
function commanderLine(text: string): string {
  const [first = '', ...rest] = text.replace(/^error: /, '').trimEnd().split('\n');
  const near = rest.map((l) => /^\(Did you mean (.*)\?\)$/.exec(l.trim())?.[1]).find((m) => m !== undefined);
  const line = first.replace(/'([^']*)'/g, (_m, w: string) => `'${cut(w)}'`);
  return `tcpcensus: ${printable(line)}${near ? ` (did you mean ${printable(near)}?)` : ''}\n`;
}

function style(): Style {
  const tty = process.stdout.isTTY === true;
  return {
    // no-color.org: NO_COLOR turns colour off when present and not empty.
    color: tty && !process.env.NO_COLOR,
    unicode: tty,
    width: tty ? process.stdout.columns || 100 : 160,
  };
}

function fatal(err: unknown): never {
  if (err instanceof CommanderError) {
    // commander printed its own message (and the help hint) already.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  let line = e.message;
  if (err instanceof OptionError && err.option && FLAG[err.option] && line.startsWith(err.option)) {
    line = FLAG[err.option] + line.slice(err.option.length);
  }
  if (err instanceof SystemError) line += ` (${err.code})`;
  if (err instanceof LimitError) line = line.replace('(maxSockets)', '(--max-sockets)');
  // Other options the message names, in the words the user typed.
  if (err instanceof OptionError) for (const [word, flag] of OPTION_WORDS) line = line.replace(word, flag);
  const hint = err instanceof SystemError && err.syscall === 'setns' && err.code === 'EPERM'
    ? 'tcpcensus: entering another network namespace needs CAP_SYS_ADMIN (root)\n' : '';
  process.stderr.write(`tcpcensus: ${printable(line)}\n${hint}${err instanceof OptionError ? `${HELP_HINT}\n` : ''}`);
  if (process.env.TCPCENSUS_DEBUG === '1') process.stderr.write(`${e.stack}\n`);
  process.exit(err instanceof OptionError ? 2 : 1);
}

// ---- option plumbing ----

interface CommonFlags extends Flags {
  json?: boolean;
}

const collect = (v: string, prev: string[] | undefined) => (prev ?? []).concat(v);

// A progress line on stderr when it is a terminal and the walk runs longer
// than half a second; erased when the walk ends.
let progressShown = false;
function withProgress<T extends object>(o: T, f: CommonFlags): T {
  if (process.stderr.isTTY !== true || f.json) return o;
  const start = Date.now();
  const onProgress = (walked: number, total: number) => {
    if (Date.now() - start < 500) return;
    progressShown = true;
    process.stderr.write(`\r\x1b[Kwalking /proc: ${walked} of ${total} processes`);
  };
  return { ...o, onProgress };
}
function clearProgress(): void {
  if (progressShown) process.stderr.write('\r\x1b[K');
  progressShown = false;
}

// Said once, on stderr (stdout stays what was asked for), with the hint
// that fits who we are.
function unreadable(n: number | null | undefined, hidden?: string | null, procRoot?: string): void {
  if (n) process.stderr.write(`tcpcensus: ${unreadableLine(n, privilege())}\n`);
  if (hidden) process.stderr.write(`tcpcensus: ${procHiddenLine(hidden, procRoot ?? '/proc')}\n`);
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
    .option('--source <source>', 'where sockets come from: auto (default: netlink, /proc/net/tcp when refused), netlink or procfs')
    .option('--netns <ns>', 'look in this network namespace: a name under /var/run/netns, a path such as /proc/1234/ns/net, or pid:PID (needs root)')
    .option('--all-netns', 'look in every network namespace, each labelled, with totals per namespace (needs root for all but our own)')
    .option('--cgroup <path>', 'only sockets created in this cgroup, e.g. /system.slice/nginx.service (filtered in the kernel, as ss \'cgroup PATH\'); repeatable', collect)
    .option('--threads <n>', 'threads for the /proc walk (1-8, default: cores)');
}

const addWalk = (cmd: Command) => cmd
  .option('--pid <pids>', 'only sockets these processes hold, e.g. 1234,5678 (walks only their fds)')
  .option('--owners <source>', 'where owners come from: auto (default: the eBPF iterator where allowed, else /proc), bpf or proc')
  .option('--proc <dir>', 'where procfs is mounted, e.g. /host/proc in a container (default /proc)')
  .option('--max-sockets <n>', 'fail (exit 1) rather than hold more than n sockets in memory');

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// ---- commands ----

// --all-netns or not, known at run time: the calls then type their result as either shape.
const netnsFlag = <T extends { allNetns?: boolean }>(o: T) => ({ ...o, allNetns: o.allNetns === true });

const isNetnsCounts = (c: StateCounts | NetnsStateCounts): c is NetnsStateCounts => 'namespaces' in c;
const isNetnsTop = (t: TopReport | NetnsTopReport): t is NetnsTopReport => 'namespaces' in t;

// The walk meets the same unreadable processes in every namespace: said once.
function unreadableOf(top: TopReport | NetnsTopReport): number | null {
  return isNetnsTop(top) ? Math.max(0, ...top.namespaces.map((n) => n.unreadableProcesses ?? 0)) : top.unreadableProcesses;
}
const hiddenOf = (top: TopReport | NetnsTopReport): string | null =>
  (isNetnsTop(top) ? top.namespaces.find((n) => n.procHidden)?.procHidden ?? null : top.procHidden);

const renderCounts = (c: StateCounts | NetnsStateCounts, st: Style, where?: string) =>
  (isNetnsCounts(c) ? renderNetnsStates(c, st) : renderStates(c, st, where));
const renderTopOf = (t: TopReport | NetnsTopReport, st: Style, where?: string, note?: string) =>
  (isNetnsTop(t) ? renderNetnsTop(t, st) : renderTop(t, st, where, note));

// The title's words for --netns.
const netnsWhere = (f: CommonFlags) => (f.netns !== undefined ? `in netns ${f.netns}` : undefined);

async function reportCmd(f: CommonFlags): Promise<void> {
  const st = style();
  const { states, limit, maxSockets, ...base }: FlagOptions = flagOptions(f);
  // Independent calls: both dumps (and the owner join) run on the pool at once.
  const [counts, first] = await Promise.all([
    countStates(netnsFlag(base)),
    topProcesses(withProgress(netnsFlag({ ...base, states, limit, maxSockets }), f)),
  ]);
  let top = first;
  // Owners that cannot be read: the cgroups that hold the sockets instead (report.ts).
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
  if (f.json) {
    printJson({ states: counts, top, topFallback: switched ? because : null });
  } else {
    const note = switched ? `showing cgroups, not processes: ${because}` : undefined;
    process.stdout.write(`${renderCounts(counts, st, netnsWhere(f))}\n\n${renderTopOf(top, st, netnsWhere(f), note)}\n`);
  }
  unreadable(unreadableCount, hiddenOf(first), f.proc);
}

async function statesCmd(f: CommonFlags): Promise<void> {
  const st = style();
  const counts = await countStates(withProgress(netnsFlag(flagOptions(f)), f));
  clearProgress();
  if (f.json) printJson(counts);
  else process.stdout.write(`${renderCounts(counts, st, netnsWhere(f))}\n`);
}

async function topCmd(f: CommonFlags): Promise<void> {
  const st = style();
  const top = await topProcesses(withProgress(netnsFlag(flagOptions(f)), f));
  clearProgress();
  if (f.json) printJson(top);
  else process.stdout.write(`${renderTopOf(top, st, netnsWhere(f))}\n`);
  unreadable(unreadableOf(top), hiddenOf(top), f.proc);
}

// Output in one reused 64 KiB buffer, handed to stdout when full and
// reused only once the write has completed: each line's string dies young
// (V8 collects it in the next scavenge, its young generation never grows),
// and nothing piles up ahead of a slow reader.
class ChunkWriter {
  #buf = Buffer.allocUnsafe(65536);
  #used = 0;
  #big: string | undefined;
  /** Adds a line; true when the buffer is full and flush() must be awaited before the next. */
  add(text: string): boolean {
    // At most 3 bytes per UTF-16 unit, and the newline.
    if (text.length * 3 + 1 > this.#buf.length - this.#used) {
      this.#big = `${text}\n`; // written after what is buffered
      return true;
    }
    this.#used += this.#buf.write(text, this.#used, 'utf8');
    this.#buf[this.#used++] = 0x0a;
    return this.#used > this.#buf.length - 4096;
  }
  async line(text: string): Promise<void> {
    if (this.add(text)) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#used > 0) {
      const n = this.#used;
      this.#used = 0;
      await write(this.#buf.subarray(0, n));
    }
    const big = this.#big;
    this.#big = undefined;
    if (big === undefined) return;
    if (big.length * 3 > this.#buf.length) await write(Buffer.from(big));
    else this.#used = this.#buf.write(big, 0, 'utf8');
  }
}

function write(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())));
}

// list streams: each batch of rows (snapshotStream: a few thousand, read
// from the kernel only when asked for) is turned into text, written, and let
// go before the next is read, so memory is a batch, not the socket count.
// The output is what it was when the whole table was held. A failure
// part-way is said on stderr and exits 1 (fatal): the document on stdout is
// then cut, never passed off as whole.
async function listCmd(f: CommonFlags & { ndjson?: boolean }): Promise<void> {
  const { limit, ...o } = flagOptions(f);
  const withProcs = f.processes === true;
  const label = (ns: NetnsLabel) => ns.name ?? String(ns.inode);
  // JSON.stringify({ ...r, pid, command, netnsInode, netnsName }) written
  // out key by key: the same bytes without a second object per row.
  const q = JSON.stringify;
  const nsTail = (ns: NetnsLabel | null) => (ns ? `,"netnsInode":${ns.inode},"netnsName":${q(ns.name)}` : '');
  const full = (r: SocketRow, ns: NetnsLabel | null) =>
    `{"state":${q(r.state)},"family":${q(r.family)},"localAddress":${q(r.localAddress)},"localPort":${r.localPort},` +
    `"remoteAddress":${q(r.remoteAddress)},"remotePort":${r.remotePort},"recvQ":${r.recvQ},"sendQ":${r.sendQ},"uid":${r.uid},` +
    `"inode":${r.inode},"pid":${r.pid ?? null},"command":${q(r.command ?? null)}${nsTail(ns)}}`;
  let left = limit ?? Infinity;
  let started = false;
  let firstRow = true;
  let firstTable: SocketTable | undefined;
  let shared = 0;
  let unreadableCount = 0;
  let hidden: string | undefined;
  const out = new ChunkWriter();
  const begin = async () => {
    if (started) return;
    started = true;
    clearProgress();
    if (f.ndjson) return;
    await out.line(f.json ? '[' : listHeader(withProcs, f.allNetns === true));
  };
  for await (const { table, netns } of snapshotStream(withProgress(netnsFlag(o), f))) {
    firstTable ??= table;
    shared += table.owners?.shared ?? 0;
    unreadableCount = Math.max(unreadableCount, table.owners?.unreadableProcesses ?? 0);
    hidden ??= table.owners?.procHidden ?? undefined;
    await begin();
    const n = Math.min(left, table.length);
    for (let i = 0; i < n; i++) {
      const r = table.row(i);
      let full_ = false;
      if (f.ndjson) full_ = out.add(full(r, netns));
      else if (f.json) {
        full_ = out.add((firstRow ? '' : ',') + full(r, netns));
        firstRow = false;
      } else full_ = out.add(listLine(r, withProcs, netns ? label(netns) : undefined));
      if (full_) await out.flush();
    }
    left -= n;
    if (left <= 0) break; // closes the dump
  }
  await begin();
  if (f.json && !f.ndjson) await out.line(']');
  await out.flush();
  if (!f.json && !f.ndjson) {
    if (withProcs && shared) {
      process.stderr.write(`tcpcensus: ${shared} sockets are shared by several processes; PID shows the lowest\n`);
    }
    // What the source could not show of what list shows (a '?' in Send-Q of LISTEN rows), said once.
    const shown = firstTable && { ...firstTable, unknown: firstTable.unknown.filter((u) => u === 'boundInactive' || u === 'listenBacklog') };
    if (shown) for (const l of sourceLines(shown)) process.stderr.write(`tcpcensus: ${l}\n`);
  }
  unreadable(unreadableCount, hidden, f.proc);
}

// watch and serve load their modules only when run, so the other commands
// start as fast as before (and never load prom-client or node:http).
async function watchCmd(f: CommonFlags & { count?: string }): Promise<void> {
  const { limit, ...o } = flagOptions(f);
  const count = f.count === undefined ? 0 : countFlag(f.count);
  const { runWatch } = await import('./watch/watch');
  const st = style();
  const code = await runWatch({ sampler: { ...o, processes: true, ...(limit !== undefined ? { limit } : {}) }, json: f.json === true, count, style: { color: st.color, unicode: st.unicode } });
  process.exitCode = code;
}

async function serveCmd(f: Flags): Promise<void> {
  const { runServe } = await import('../metrics/serve');
  await runServe(flagOptions(f));
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
  $ tcpcensus report --json         # the same as one JSON document
  $ tcpcensus --netns pid:4242      # in the network namespace of process 4242 (a container)`,
  states: `
Examples (replace: netstat -nat | awk '{print $6}' | sort | uniq -c | sort -r):
  $ tcpcensus states
  $ tcpcensus states -4 --sport 443 --json
  $ tcpcensus states --all-netns               # every network namespace, with totals per namespace`,
  top: `
Examples (replace: netstat -apn | grep CLOSE_WAIT | awk '{print $7}' | sort | uniq -c | sort -nr | head):
  $ tcpcensus top                              # processes holding CLOSE_WAIT
  $ tcpcensus top --by command -n 5            # all workers of one server together
  $ tcpcensus top -s time-wait --by remote-host
  $ tcpcensus top -s estab --by local-port --dst 10.0.0.0/8
  $ tcpcensus top --by cgroup                  # which service or container holds CLOSE_WAIT (no /proc walk)
  $ tcpcensus top --all-netns                  # who holds CLOSE_WAIT in every network namespace`,
  list: `
Examples (replace: netstat -tanp | grep :5432):
  $ tcpcensus list -s close-wait -p --dport 5432
  $ tcpcensus list --pid 1234 --ndjson | jq .remoteAddress
  $ tcpcensus list --cgroup /system.slice/nginx.service -s estab`,
  watch: `
Examples:
  $ tcpcensus watch                            # the histogram and who holds CLOSE_WAIT, every second
  $ tcpcensus watch -s close-wait,fin-wait-2 --by command --interval 5s
  $ tcpcensus watch --json --interval 10s | tee sockets.ndjson`,
  serve: `
Examples:
  $ tcpcensus serve                                   # http://127.0.0.1:${DEFAULT_PORT}/metrics
  $ tcpcensus serve --listen 0.0.0.0:${DEFAULT_PORT} --owner-states close-wait,syn-recv
  $ curl -s 127.0.0.1:${DEFAULT_PORT}/metrics | grep tcpcensus_command_sockets`,
  explain: `
Examples:
  $ tcpcensus explain close-wait
  $ tcpcensus explain`,
};

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

  addWalk(addCommon(program.command('report', { isDefault: true }), 'states for the top section (default CLOSE_WAIT)'))
    .description('sockets by state, then the top processes holding CLOSE_WAIT (the default command)')
    .option('-n, --limit <n>', 'rows in the top section (default 10)')
    .addHelpText('after', EXAMPLES.report)
    .action(reportCmd);

  addCommon(program.command('states'), 'states to count (default: all but CLOSE)')
    .description('the histogram of TCP sockets by state')
    .addHelpText('after', EXAMPLES.states)
    .action(statesCmd);

  addWalk(addCommon(program.command('top'), 'states to look at (default CLOSE_WAIT)'))
    .description('who holds the most sockets in a state: processes, commands, peers, local ports or users')
    .option('--by <grouping>', `group by ${TOP_BY.join(', ')} (default process)`)
    .option('-n, --limit <n>', 'rows to show (default 10)')
    .addHelpText('after', EXAMPLES.top)
    .action(topCmd);

  addWalk(addCommon(program.command('list'), 'states to list (default: all but CLOSE)'))
    .description('one row per socket, like ss -tan')
    .option('-p, --processes', 'add the owning pid and command')
    .option('-n, --limit <n>', 'at most this many rows')
    .option('--ndjson', 'one JSON object per line')
    .addHelpText('after', EXAMPLES.list)
    .action(listCmd);

  const sampling = (cmd: Command) => cmd
    .option('--owners <source>', 'where owners come from: auto (default), proc (the /proc walk) or bpf (where built in)')
    .option('--full-every <n>', 'a full owner attribution every n samples (default 60; owners are found incrementally in between)')
    .option('--proc <dir>', 'where procfs is mounted, e.g. /host/proc in a container (default /proc)');

  sampling(addCommon(program.command('watch'), 'states whose owners are shown (default CLOSE_WAIT)'))
    .description('a live view: the state histogram, changes, sparklines and the top owners, every interval (q quits); one line per sample when not on a terminal')
    .option('--interval <duration>', 'time between samples, e.g. 500ms, 1s, 1m (default 1s)')
    .option('--by <grouping>', `group the owners by ${TOP_BY.join(', ')} (default process)`)
    .option('-n, --limit <n>', 'rows of owners (default 10)')
    .option('-c, --count <n>', 'stop after n samples (default: until q, Ctrl-C or a signal)')
    .addHelpText('after', EXAMPLES.watch)
    .action(watchCmd);

  sampling(program.command('serve'))
    .description(`a Prometheus exporter: /metrics on 127.0.0.1:${DEFAULT_PORT} by default, sampled on scrape`)
    .option('--listen <addr>', `ADDRESS:PORT, [IPv6]:PORT or PORT (on 127.0.0.1); default 127.0.0.1:${DEFAULT_PORT}; anything but loopback must be asked for`)
    .option('--owner-states <states>', 'states whose owners are counted per command and process (default CLOSE_WAIT); repeatable or comma-separated', collect)
    .option('--top <n>', 'commands per attributed state in tcpcensus_command_sockets (default 20)')
    .option('--top-processes <n>', 'processes per attributed state in tcpcensus_process_sockets (default 10; 0: no per-process series, no pids)')
    .option('--min-interval <duration>', 'a scrape within this long of the last sample reuses it (default 1s; 0s: every scrape samples)')
    .option('--request-timeout <duration>', 'a request must arrive whole within this, else 408 and the connection is closed (default 10s)')
    .option('-4, --ipv4', 'IPv4 sockets only')
    .option('-6, --ipv6', 'IPv6 sockets only (IPv4-mapped included)')
    .option('--sport <port>', 'local port or range, e.g. 443 or 1000-2000 (filtered in the kernel)')
    .option('--dport <port>', 'remote port or range')
    .option('--src <addr>', 'local address or prefix, e.g. 10.0.0.0/8 or fe80::/10')
    .option('--dst <addr>', 'remote address or prefix')
    .option('--threads <n>', 'threads for the /proc walk (1-8, default: cores)')
    .option('--max-sockets <n>', 'fail a scrape (500) rather than hold more than n sockets in memory')
    .addHelpText('after', EXAMPLES.serve)
    .action(serveCmd);

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
      const near = closest(first, names);
      process.stderr.write(`tcpcensus: unknown command '${cut(first)}'${near ? ` (did you mean ${near}?)` : ''}; commands: ${names.join(', ')}\n${HELP_HINT}\n`);
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
