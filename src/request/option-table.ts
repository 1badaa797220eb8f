/**
 * The option table: every option tcpcensus takes, once. An entry carries the
 * calls that take it, the check of its value, why it does not apply where
 * it does not, and its CLI flag (names, help per command, how the text
 * becomes a value). The library's checks (options.ts), the commander flags,
 * their help and the flag names in error messages (cli/flags.ts) are all
 * read from here, so a new option is one entry. Loads no addon.
 */
import { OptionError, opt } from '../errors';
import { shown } from '../common/escape';
import { closest } from '../common/suggest';
import { MAX_THREADS, type RawSource } from '../core/raw';
import { OWNER_SOURCE, type OwnerSource } from '../core/sources';
import { TOP_BY, type FamilyOption, type OwnerSourceOption, type TopBy } from '../types';
import { parseDuration } from './duration';
import { ipFamily, parsePortRange, parsePrefix, type PortRange, type Prefix } from './filter';
import { parseStates } from './states';

export type Call = 'countStates' | 'topProcesses' | 'snapshot' | 'topCgroupsByState' | 'createSampler' | 'registerMetrics' | 'serve';

/** The CLI's commands that take flags (explain takes an argument only). */
export type Command = 'report' | 'states' | 'top' | 'list' | 'watch' | 'serve';

export const OWNER_SOURCES: readonly OwnerSourceOption[] = ['auto', ...(Object.keys(OWNER_SOURCE) as OwnerSource[])];
export const SOCKET_SOURCES: readonly RawSource[] = ['auto', 'netlink', 'procfs'];
export const FAMILY_OPTIONS: readonly FamilyOption[] = ['ipv4', 'ipv6', 'all'];

/** An address and port to listen on. */
export interface Listen {
  host: string;
  port: number;
}

/** The exporter's default port (docs/metrics.md, "Port"): outside the fully allocated 9100-9999 and the ephemeral range. */
export const DEFAULT_PORT = 10469;

/** Counts and ids the caller gives must fit a C int. */
export const INT_MAX = 2 ** 31 - 1;

export type Progress = (walked: number, total: number) => void;

/** The checked value of each option. */
export interface Values {
  states: number;
  family: FamilyOption;
  sport: PortRange;
  dport: PortRange;
  src: Prefix;
  dst: Prefix;
  json: boolean;
  source: RawSource;
  netns: string;
  allNetns: boolean;
  cgroup: string[];
  pids: Int32Array;
  owners: OwnerSourceOption;
  threads: number;
  procRoot: string;
  onProgress: Progress;
  maxSockets: number;
  limit: number;
  by: TopBy;
  processes: boolean;
  ndjson: boolean;
  interval: number;
  count: number;
  fullEvery: number;
  ownerStates: number;
  top: number;
  topProcesses: number;
  minInterval: number;
  listen: Listen;
  requestTimeout: number;
}
export type Key = keyof Values;

/** A CLI flag that sets an option. */
export interface Flag {
  /** commander's syntax: '-s, --state <states>'; no <arg>: a switch. */
  flags: string;
  /** The commands that show it, each with its help line. */
  help: { [C in Command]?: string };
  /** Repeatable: every use is collected (and each may be comma-separated). */
  repeatable?: boolean;
  /** A switch's value for the option (-4: 'ipv4'); default true. */
  value?: unknown;
  /**
   * The flag's text as the option's value, checked on the text where a
   * conversion would lose what was typed (9007199254740993 as a number is
   * ...992); default: the text as given, checked by `check`.
   */
  fromText?(text: string): unknown;
}

export interface OptionSpec<V> {
  /** The library calls that take it; none: a CLI-only flag. */
  calls: readonly Call[];
  /** Checks a given value (never undefined); returns it checked. */
  check(value: unknown): V;
  /** Why it does not apply to a call that does not take it, when there is more to say. */
  notHere?(call: Call): string | undefined;
  /** The CLI flag, or flags, that set it. */
  flag?: Flag | readonly Flag[];
}

const ONCE: readonly Call[] = ['countStates', 'topProcesses', 'snapshot'];
export const METRICS: readonly Call[] = ['registerMetrics', 'serve'];
export const SAMPLING: readonly Call[] = ['createSampler', ...METRICS];
// The socket filters: every call; topCgroupsByState walks no /proc, and the
// samplers look in one namespace.
const FILTERS: readonly Call[] = [...ONCE, 'topCgroupsByState', ...SAMPLING];
// countStates keeps no rows, so it has nothing for maxSockets to bound.
const KEEPS_ROWS: readonly Call[] = ['topProcesses', 'snapshot', 'topCgroupsByState', ...SAMPLING];
const OWNERS_TOO: readonly Call[] = [...ONCE, ...SAMPLING];

// The CLI's command groups: the one-shot commands, those that walk /proc, the samplers.
const DUMPS = ['report', 'states', 'top', 'list', 'watch'] as const;
const WALKS = ['report', 'top', 'list'] as const;
const FILTER_FLAGS = [...DUMPS, 'serve'] as const;
const each = (commands: readonly Command[], help: string): Flag['help'] => Object.fromEntries(commands.map((c) => [c, help]));

const STATE_WORDS = 'repeatable or comma-separated; netstat or ss names, or groups all, connected, synchronized, bucket, big';
const PROC_HELP = 'where procfs is mounted, e.g. /host/proc in a container (default /proc)';

// ---- value rules ----

export function integer(key: string, v: unknown, lo: number, hi: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi) return v;
  throw new OptionError(`${opt(key)} must be an integer from ${lo} to ${hi}, got ${shown(v)}`, key);
}

/** CLI text checked as text, so the message quotes it as typed. */
export function integerText(key: string, text: string, lo: number, hi: number): number {
  if (/^\d{1,10}$/.test(text) && Number(text) >= lo && Number(text) <= hi) return Number(text);
  throw new OptionError(`${opt(key)} must be an integer from ${lo} to ${hi}, got ${shown(text)}`, key);
}

function oneOf<T extends string>(v: unknown, valid: readonly T[], key: string, noun: string, label: string): T {
  if (typeof v === 'string' && (valid as readonly string[]).includes(v)) return v as T;
  const near = typeof v === 'string' ? closest(v, valid) : undefined;
  throw new OptionError(`unknown ${noun} ${shown(v)}${near ? ` (did you mean ${near}?)` : ''}; ${label}: ${valid.join(', ')}`, key);
}

function ofType<T>(v: unknown, type: 'string' | 'function' | 'boolean', key: string, what: string): T {
  if (typeof v === type && v !== '') return v as T;
  throw new OptionError(`${opt(key)} must be ${what}`, key);
}

// As the addon resolves it (native/sockets/netns.h): pid:PID, a path with a
// '/', or a name under /var/run/netns. Checked here so a typo is exit 2.
function netnsSpec(v: unknown): string {
  const fail = () =>
    new OptionError(
      `${opt('netns')} ${shown(v)} is not a namespace name (letters, digits, '.', '_', '-'), a path such as /proc/1234/ns/net, or pid:PID`,
      'netns',
    );
  if (typeof v !== 'string' || v === '') throw fail();
  if (v.startsWith('pid:')) {
    const pid = v.slice(4);
    if (!/^\d{1,10}$/.test(pid) || Number(pid) < 1 || Number(pid) > INT_MAX) throw fail();
    return v;
  }
  if (v.includes('/')) return v;
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(v) || v === '.' || v === '..') throw fail();
  return v;
}

function cgroupPaths(v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && p !== '' && !p.includes('\0'))) {
    throw new OptionError(
      `${opt('cgroup')} must be a cgroup path such as /system.slice/nginx.service, or a non-empty array of them, got ${shown(v)}`,
      'cgroup',
    );
  }
  return list as string[];
}

function pidArray(v: unknown): Int32Array {
  if (!Array.isArray(v) || v.length === 0) throw new OptionError(`${opt('pids')} must be a non-empty array of process ids, got ${shown(v)}`, 'pids');
  for (const p of v) integer('pids', p, 1, INT_MAX);
  return Int32Array.from(v as number[]);
}

function pidText(text: string): number[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0 || !parts.every((p) => /^\d{1,10}$/.test(p) && Number(p) >= 1 && Number(p) <= INT_MAX)) {
    throw new OptionError(`${opt('pids')} takes process ids such as 1234 or 1234,5678, got ${shown(text)}`, 'pids');
  }
  return parts.map(Number);
}

// "127.0.0.1:10469", "[::1]:10469", "10469" (loopback); any other address
// only when it is written out: listening beyond loopback is a choice.
function parseListen(v: unknown): Listen {
  const fail = () =>
    new OptionError(
      `${opt('listen')} must be PORT, ADDRESS:PORT or [IPv6]:PORT with a port from 0 to 65535, e.g. 127.0.0.1:${DEFAULT_PORT}, got ${shown(v)}`,
      'listen',
    );
  if (typeof v !== 'string') throw fail();
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):)?(\d{1,5})$/.exec(v.trim());
  if (!m || Number(m[2]) > 65535) throw fail();
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  if (host !== 'localhost' && ipFamily(host) === undefined) throw fail();
  if (host.includes(':') !== (m[1]?.startsWith('[') ?? false)) throw fail();
  return { host, port: Number(m[2]) };
}

// parseStates names 'states'; options.ts re-keys its error to ownerStates.
const states = (v: unknown) => parseStates(v as string[]);
const int = (key: Key, lo: number, hi: number) => ({
  check: (v: unknown) => integer(key, v, lo, hi),
  fromText: (t: string) => integerText(key, t, lo, hi),
});
const bool = (key: Key) => (v: unknown) => ofType<boolean>(v, 'boolean', key, 'true or false');

// ---- the table ----
// In this order: the order of "valid options" in messages, and of flags in --help.

export const OPTIONS: { readonly [K in Key]: OptionSpec<Values[K]> } = {
  states: {
    calls: [...ONCE, 'topCgroupsByState', 'createSampler'],
    check: states,
    notHere: (call) => (METRICS.includes(call) ? 'the metrics count every state; ownerStates picks the states whose owners are counted' : undefined),
    flag: {
      flags: '-s, --state <states>',
      repeatable: true,
      help: {
        report: `states for the top section (default CLOSE_WAIT); ${STATE_WORDS}`,
        states: `states to count (default: all but CLOSE); ${STATE_WORDS}`,
        top: `states to look at (default CLOSE_WAIT); ${STATE_WORDS}`,
        list: `states to list (default: all but CLOSE); ${STATE_WORDS}`,
        watch: `states whose owners are shown (default CLOSE_WAIT); ${STATE_WORDS}`,
      },
    },
  },
  family: {
    calls: FILTERS,
    check: (v) => oneOf(v, FAMILY_OPTIONS, 'family', 'family', 'valid families'),
    flag: [
      { flags: '-4, --ipv4', value: 'ipv4', help: each(FILTER_FLAGS, 'IPv4 sockets only') },
      { flags: '-6, --ipv6', value: 'ipv6', help: each(FILTER_FLAGS, 'IPv6 sockets only (IPv4-mapped included)') },
    ],
  },
  sport: {
    calls: FILTERS,
    check: (v) => parsePortRange(v, 'sport'),
    flag: { flags: '--sport <port>', help: each(FILTER_FLAGS, 'local port or range, e.g. 443 or 1000-2000 (filtered in the kernel)') },
  },
  dport: {
    calls: FILTERS,
    check: (v) => parsePortRange(v, 'dport'),
    flag: { flags: '--dport <port>', help: each(FILTER_FLAGS, 'remote port or range') },
  },
  src: {
    calls: FILTERS,
    check: (v) => parsePrefix(v, 'src'),
    flag: { flags: '--src <addr>', help: each(FILTER_FLAGS, 'local address or prefix, e.g. 10.0.0.0/8 or fe80::/10') },
  },
  dst: { calls: FILTERS, check: (v) => parsePrefix(v, 'dst'), flag: { flags: '--dst <addr>', help: each(FILTER_FLAGS, 'remote address or prefix') } },
  json: { calls: [], check: bool('json'), flag: { flags: '--json', help: each(DUMPS, 'print JSON') } },
  source: {
    calls: FILTERS,
    check: (v) => oneOf(v, SOCKET_SOURCES, 'source', 'socket source', 'valid'),
    flag: {
      flags: '--source <source>',
      help: each(DUMPS, 'where sockets come from: auto (default: netlink, /proc/net/tcp when refused), netlink or procfs'),
    },
  },
  netns: {
    calls: FILTERS,
    check: netnsSpec,
    flag: {
      flags: '--netns <ns>',
      help: each(DUMPS, 'look in this network namespace: a name under /var/run/netns, a path such as /proc/1234/ns/net, or pid:PID (needs root)'),
    },
  },
  allNetns: {
    calls: ONCE,
    check: bool('allNetns'),
    flag: {
      flags: '--all-netns',
      help: each(DUMPS, 'look in every network namespace, each labelled, with totals per namespace (needs root for all but our own)'),
    },
  },
  cgroup: {
    calls: FILTERS,
    check: cgroupPaths,
    flag: {
      flags: '--cgroup <path>',
      repeatable: true,
      help: each(
        DUMPS,
        "only sockets created in this cgroup, e.g. /system.slice/nginx.service (filtered in the kernel, as ss 'cgroup PATH'); repeatable",
      ),
    },
  },
  pids: {
    calls: ONCE,
    check: pidArray,
    notHere: (call) => (SAMPLING.includes(call) ? 'a sampler watches every process' : undefined),
    flag: { flags: '--pid <pids>', fromText: pidText, help: each(WALKS, 'only sockets these processes hold, e.g. 1234,5678 (walks only their fds)') },
  },
  owners: {
    calls: OWNERS_TOO,
    check: (v) => oneOf(v, OWNER_SOURCES, 'owners', 'owner source', 'valid'),
    flag: {
      flags: '--owners <source>',
      help: {
        ...each(WALKS, 'where owners come from: auto (default: the eBPF iterator where allowed, else /proc), bpf or proc'),
        ...each(['watch', 'serve'], 'where owners come from: auto (default), proc (the /proc walk) or bpf (where built in)'),
      },
    },
  },
  threads: {
    calls: OWNERS_TOO,
    ...int('threads', 1, MAX_THREADS),
    flag: {
      flags: '--threads <n>',
      fromText: int('threads', 1, MAX_THREADS).fromText,
      help: each(FILTER_FLAGS, 'threads for the /proc walk (1-8, default: cores)'),
    },
  },
  procRoot: {
    calls: OWNERS_TOO,
    check: (v) => ofType(v, 'string', 'procRoot', 'a directory path'),
    flag: { flags: '--proc <dir>', help: each([...WALKS, 'watch', 'serve'], PROC_HELP) },
  },
  onProgress: { calls: ONCE, check: (v) => ofType<Progress>(v, 'function', 'onProgress', 'a function') },
  maxSockets: {
    calls: KEEPS_ROWS,
    check: int('maxSockets', 1, INT_MAX).check,
    notHere: (call) => (call === 'countStates' ? 'it keeps no rows, so there is nothing to bound' : undefined),
    flag: {
      flags: '--max-sockets <n>',
      fromText: int('maxSockets', 1, INT_MAX).fromText,
      help: {
        ...each(WALKS, 'fail (exit 1) rather than hold more than n sockets in memory'),
        serve: 'fail a scrape (500) rather than hold more than n sockets in memory',
      },
    },
  },
  limit: {
    calls: ['topProcesses', 'topCgroupsByState', 'createSampler'],
    check: int('limit', 1, INT_MAX).check,
    flag: {
      flags: '-n, --limit <n>',
      fromText: int('limit', 1, INT_MAX).fromText,
      help: {
        report: 'rows in the top section (default 10)',
        top: 'rows to show (default 10)',
        list: 'at most this many rows',
        watch: 'rows of owners (default 10)',
      },
    },
  },
  by: {
    calls: ['topProcesses', 'createSampler'],
    check: (v) => oneOf(v, TOP_BY, 'by', 'grouping', 'valid'),
    flag: {
      flags: '--by <grouping>',
      help: { top: `group by ${TOP_BY.join(', ')} (default process)`, watch: `group the owners by ${TOP_BY.join(', ')} (default process)` },
    },
  },
  processes: {
    calls: ['snapshot', 'createSampler'],
    check: bool('processes'),
    flag: { flags: '-p, --processes', help: { list: 'add the owning pid and command' } },
  },
  ndjson: { calls: [], check: bool('ndjson'), flag: { flags: '--ndjson', help: { list: 'one JSON object per line' } } },
  interval: {
    calls: ['createSampler'],
    check: (v) => parseDuration(v, 'interval', 10),
    flag: { flags: '--interval <duration>', help: { watch: 'time between samples, e.g. 500ms, 1s, 1m (default 1s)' } },
  },
  count: {
    calls: [],
    ...int('count', 1, INT_MAX),
    flag: {
      flags: '-c, --count <n>',
      fromText: int('count', 1, INT_MAX).fromText,
      help: { watch: 'stop after n samples (default: until q, Ctrl-C or a signal)' },
    },
  },
  fullEvery: {
    calls: SAMPLING,
    check: int('fullEvery', 1, INT_MAX).check,
    flag: {
      flags: '--full-every <n>',
      fromText: int('fullEvery', 1, INT_MAX).fromText,
      help: each(['watch', 'serve'], 'a full owner attribution every n samples (default 60; owners are found incrementally in between)'),
    },
  },
  ownerStates: {
    calls: METRICS,
    check: states,
    flag: {
      flags: '--owner-states <states>',
      repeatable: true,
      help: { serve: 'states whose owners are counted per command and process (default CLOSE_WAIT); repeatable or comma-separated' },
    },
  },
  top: {
    calls: METRICS,
    ...int('top', 1, 10000),
    flag: {
      flags: '--top <n>',
      fromText: int('top', 1, 10000).fromText,
      help: { serve: 'commands per attributed state in tcpcensus_command_sockets (default 20)' },
    },
  },
  topProcesses: {
    calls: METRICS,
    ...int('topProcesses', 0, 10000),
    flag: {
      flags: '--top-processes <n>',
      fromText: int('topProcesses', 0, 10000).fromText,
      help: { serve: 'processes per attributed state in tcpcensus_process_sockets (default 10; 0: no per-process series, no pids)' },
    },
  },
  minInterval: {
    calls: METRICS,
    check: (v) => parseDuration(v, 'minInterval', 0),
    flag: {
      flags: '--min-interval <duration>',
      help: { serve: 'a scrape within this long of the last sample reuses it (default 1s; 0s: every scrape samples)' },
    },
  },
  listen: {
    calls: ['serve'],
    check: parseListen,
    flag: {
      flags: '--listen <addr>',
      help: { serve: `ADDRESS:PORT, [IPv6]:PORT or PORT (on 127.0.0.1); default 127.0.0.1:${DEFAULT_PORT}; anything but loopback must be asked for` },
    },
  },
  requestTimeout: {
    calls: ['serve'],
    check: (v) => parseDuration(v, 'requestTimeout', 1),
    flag: {
      flags: '--request-timeout <duration>',
      help: { serve: 'a request must arrive whole within this, else 408 and the connection is closed (default 10s)' },
    },
  },
};

export const KEYS = Object.keys(OPTIONS) as Key[];

/** The flags of an option, as a list. */
export const flagsOf = (key: Key): readonly Flag[] => {
  const f = OPTIONS[key].flag;
  return f === undefined ? [] : 'flags' in f ? [f] : f;
};

/** The long flag that sets an option ('--max-sockets' for maxSockets), for messages; the key itself when there is none. */
export function flagName(key: string): string {
  const spec = Object.hasOwn(OPTIONS, key) ? flagsOf(key as Key) : [];
  // -4 and -6 both set family: a message about it names the option, not one flag.
  if (spec.length !== 1) return key;
  return /--[a-z-]+/.exec(spec[0]!.flags)?.[0] ?? key;
}
