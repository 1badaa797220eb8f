/**
 * TCP state names, numbers and masks. Names are netstat's spelling; input
 * also takes ss's spellings and groups (ss(8) "STATE-FILTER") in any case.
 * Numbers are the kernel's (include/net/tcp_states.h), as sock_diag(7)
 * reports them.
 */
import { OptionError, opt } from '../errors';
import { shown } from '../common/escape';

export const STATE_NAMES = [
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
] as const;

export type StateName = (typeof STATE_NAMES)[number];

/** Kernel state number of a name: ESTABLISHED = 1 ... CLOSING = 11. */
export function stateNumber(name: StateName): number {
  return STATE_NAMES.indexOf(name) + 1;
}

/** Name of a kernel state number (1..11). */
export function stateName(n: number): StateName {
  const name = STATE_NAMES[n - 1];
  if (name === undefined) throw new RangeError(`no TCP state ${n}`);
  return name;
}

const bit = (s: StateName) => 1 << stateNumber(s);
const maskOf = (names: readonly StateName[]) => names.reduce((m, s) => m | bit(s), 0);
const except = <const X extends readonly StateName[]>(xs: X) => STATE_NAMES.filter((s) => !xs.includes(s)) as Array<Exclude<StateName, X[number]>>;

/** Every state, CLOSE (bound, inactive) included. */
export const ALL_MASK = maskOf(STATE_NAMES);
/** What `ss -a` shows and tcpcensus asks for by default: every state but CLOSE. */
export const DEFAULT_MASK = ALL_MASK & ~bit('CLOSE');

// The groups mean what they mean in ss(8) (iproute2 misc/ss.c scan_state()):
// "connected" is every state but LISTEN and CLOSE, "synchronized" also leaves
// out SYN_SENT, "bucket" is the minisockets (SYN_RECV, TIME_WAIT), "big" the rest.
// Written as name lists, so the types below read the same table.
const GROUPS = {
  all: STATE_NAMES,
  connected: except(['LISTEN', 'CLOSE']),
  synchronized: except(['LISTEN', 'CLOSE', 'SYN_SENT']),
  bucket: ['SYN_RECV', 'TIME_WAIT'] as const,
  big: except(['SYN_RECV', 'TIME_WAIT']),
};
export const STATE_GROUPS: Record<string, number> = Object.fromEntries(Object.entries(GROUPS).map(([g, names]) => [g, maskOf(names)]));

// Spellings folded to upper case without '-' and '_', so "close-wait",
// "CLOSE_WAIT" and "closewait" all land on one key.
const ALIASES = {
  ESTABLISHED: 'ESTABLISHED',
  ESTAB: 'ESTABLISHED',
  SYNSENT: 'SYN_SENT',
  SYNRECV: 'SYN_RECV',
  FINWAIT1: 'FIN_WAIT1',
  FINWAIT2: 'FIN_WAIT2',
  TIMEWAIT: 'TIME_WAIT',
  CLOSE: 'CLOSE',
  CLOSED: 'CLOSE',
  UNCONN: 'CLOSE',
  UNCONNECTED: 'CLOSE',
  CLOSEWAIT: 'CLOSE_WAIT',
  LASTACK: 'LAST_ACK',
  LISTEN: 'LISTEN',
  LISTENING: 'LISTEN',
  CLOSING: 'CLOSING',
} as const satisfies Record<string, StateName>;

// ---- the same rules as types: which states a literal `states` option names ----

type Trim<T extends string> = T extends ` ${infer R}` ? Trim<R> : T extends `${infer R} ` ? Trim<R> : T;
type Squash<T extends string> = T extends `${infer A}-${infer B}` ? Squash<`${A}${B}`> : T extends `${infer A}_${infer B}` ? Squash<`${A}${B}`> : T;
// As parseStates reads a word: a group in any case, else a spelling without '-' and '_'.
type Word<W extends string> =
  Lowercase<W> extends keyof typeof GROUPS
    ? (typeof GROUPS)[Lowercase<W>][number]
    : Uppercase<Squash<W>> extends keyof typeof ALIASES
      ? (typeof ALIASES)[Uppercase<Squash<W>>]
      : never;
type Entry<E extends string> = E extends `${infer A},${infer B}` ? Entry<A> | Entry<B> : Trim<E> extends '' ? never : Word<Trim<E>>;

/** '*': the states are known only at run time (a string[], not literals). */
export type AnyStates = '*';
/** The states every call counts when none are given: all but CLOSE. */
export type DefaultStates = Exclude<StateName, 'CLOSE'>;
/**
 * The states a `states` option names, read from its literal type:
 * `['close-wait', 'listen']` is 'CLOSE_WAIT' | 'LISTEN', no option is
 * DefaultStates, and a plain string[] is AnyStates.
 */
export type StatesOf<S> = [S] extends [undefined]
  ? DefaultStates
  : S extends readonly (infer E)[]
    ? string extends E
      ? AnyStates
      : E extends string
        ? Entry<E>
        : AnyStates
    : AnyStates;
/**
 * A result's `states` for the states asked: each one present, but CLOSE, which
 * a source that cannot show it (/proc/net/tcp) leaves out; every key optional
 * when the states are known only at run time.
 */
export type CountsOf<S extends StateName | AnyStates> = AnyStates extends S
  ? Partial<Record<StateName, number>>
  : { [K in Exclude<S, 'CLOSE' | AnyStates>]: number } & { [K in Extract<S, 'CLOSE'>]?: number };

const VALID_HINT =
  `valid states: ${STATE_NAMES.join(', ')} (or ss spellings such as close-wait, estab), ` + `groups: ${Object.keys(STATE_GROUPS).join(', ')}`;

/**
 * Parses state names and groups into a mask. Each entry may itself be a
 * comma-separated list. undefined gives the fallback; a list that names no
 * state is an error.
 */
export function parseStates(input: readonly string[] | undefined, fallback = DEFAULT_MASK): number {
  if (input === undefined) return fallback;
  if (!Array.isArray(input)) throw new OptionError(`${opt('states')} must be an array of state names; ${VALID_HINT}`, 'states');
  let mask = 0;
  for (const entry of input) {
    if (typeof entry !== 'string') throw new OptionError(`state must be a string; ${VALID_HINT}`, 'states');
    for (const part of entry.split(',')) {
      const word = part.trim();
      if (word === '') continue;
      const group = STATE_GROUPS[word.toLowerCase()];
      if (group !== undefined) {
        mask |= group;
        continue;
      }
      const name = (ALIASES as Record<string, StateName>)[word.toUpperCase().replace(/[-_]/g, '')];
      if (name === undefined) throw new OptionError(`unknown state ${shown(word)}; ${VALID_HINT}`, 'states');
      mask |= bit(name);
    }
  }
  if (mask === 0) throw new OptionError(`no state given; ${VALID_HINT}`, 'states');
  return mask;
}

/** The names in a mask, in state-number order. */
export function maskNames(mask: number): StateName[] {
  return STATE_NAMES.filter((s) => (mask & bit(s)) !== 0);
}

/** One line on what a state means, for the report and `explain`. */
export const STATE_MEANINGS: Record<StateName, string> = {
  ESTABLISHED: 'open connection, data flowing both ways',
  SYN_SENT: 'this side sent SYN and waits for the peer to answer (peer down or filtered if many)',
  SYN_RECV: 'peer sent SYN, this side answered and waits for the final ACK (SYN flood or slow accept if many)',
  FIN_WAIT1: 'this side closed and its FIN is not yet acknowledged (peer not reading if many)',
  FIN_WAIT2: 'this side closed, the peer acknowledged and has not closed yet',
  TIME_WAIT: 'this side closed first; the socket lingers 60 s to absorb late packets (normal under churn)',
  CLOSE: 'bound but neither listening nor connected',
  CLOSE_WAIT: 'the peer closed and the application never called close(): a leak in the owning process',
  LAST_ACK: 'the application closed after the peer did; waiting for the last ACK',
  LISTEN: 'waiting for incoming connections',
  CLOSING: 'both sides closed at once; waiting for the FIN to be acknowledged',
};

export interface StateDetail {
  /** What the state is. */
  meaning: string;
  /** Which side is waiting, and for what. */
  waiting: string;
  /** What a large count of it usually says about the owning application. */
  whenMany: string;
}

export const STATE_DETAILS: Record<StateName, StateDetail> = {
  ESTABLISHED: {
    meaning: 'An open connection; data can flow both ways.',
    waiting: 'Nobody: both sides are connected.',
    whenMany: 'Busy service or a connection pool; a steady climb with no traffic growth means connections are opened and never closed (pool leak).',
  },
  SYN_SENT: {
    meaning: 'This side sent a SYN (connect()) and waits for the answer.',
    waiting: "The local connect() waits for the peer's SYN-ACK; the kernel retries the SYN.",
    whenMany: 'The peer is down, overloaded or a firewall drops SYNs; look at --by remote.',
  },
  SYN_RECV: {
    meaning: 'A SYN arrived, this side answered SYN-ACK and waits for the final ACK.',
    waiting: "The listener waits for the client's ACK (or, with TCP_DEFER_ACCEPT, its first data).",
    whenMany: 'A SYN flood, or clients that vanish mid-handshake; check --by remote-host and syncookies.',
  },
  FIN_WAIT1: {
    meaning: 'This side closed; its FIN is sent but not yet acknowledged.',
    waiting: 'The local side waits for the peer to ACK its FIN, often behind unsent data.',
    whenMany: 'Peers that stopped reading (zero window) or vanished; the kernel holds the data until it gives up.',
  },
  FIN_WAIT2: {
    meaning: 'This side closed and the peer acknowledged; the peer has not closed yet.',
    waiting: "The local side waits for the peer's FIN.",
    whenMany: 'Peers that never close their end (their CLOSE_WAIT leak); orphans expire after tcp_fin_timeout.',
  },
  TIME_WAIT: {
    meaning: 'This side closed first; the socket lingers for 60 s to absorb late packets.',
    waiting: 'Nobody: the kernel waits out 2*MSL.',
    whenMany: 'Normal under connection churn; tens of thousands mean short-lived connections that could be kept alive or pooled.',
  },
  CLOSE: {
    meaning: 'Bound to an address but neither listening nor connected.',
    waiting: 'The application, which has not called listen() or connect() yet.',
    whenMany: 'Sockets created and bound but never used or closed: a leak of unused sockets.',
  },
  CLOSE_WAIT: {
    meaning: 'The peer closed its end; this side has not called close().',
    waiting: 'The kernel waits for the local application to close the socket; it never times out.',
    whenMany:
      'A leak in the owning process: it stopped reading or forgot to close after the peer hung up. Restarting it frees them; fix the missing close().',
  },
  LAST_ACK: {
    meaning: 'The peer closed, then this side closed; its FIN waits for the last ACK.',
    waiting: 'The local side waits for the peer to ACK its FIN.',
    whenMany: 'Peers that vanished after closing; usually short-lived.',
  },
  LISTEN: {
    meaning: 'Waiting for incoming connections.',
    waiting: 'The server waits for clients; Recv-Q is the accept queue, Send-Q its limit.',
    whenMany: 'Many listening ports or SO_REUSEPORT workers; a full Recv-Q means the application does not accept() fast enough.',
  },
  CLOSING: {
    meaning: "Both sides closed at about the same time; this side's FIN is not yet acknowledged.",
    waiting: 'The local side waits for the ACK of its FIN.',
    whenMany: 'Rare; lost ACKs or peers that vanished during a simultaneous close.',
  },
};
