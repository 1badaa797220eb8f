/**
 * The error classes tcpcensus throws, and the one list of their codes. A
 * SystemError is a failed system call (message "<syscall>[ <path>] failed:
 * <strerror>", or "cannot read <path>: <strerror>" for a process named in
 * pids; with syscall, errno and code as in Node's own system errors, plus
 * path and pid when it was about one); an OptionError is bad input from the
 * caller; a LimitError a bound the caller set (maxSockets) that the answer
 * would break. The CLI maps OptionError to exit code 2 and the others to
 * exit code 1 (docs/errors.md).
 */

/**
 * Every code a TcpcensusError carries, one per kind of refusal, with what
 * it means. A SystemError carries the errno's name instead (ENOENT, EPERM),
 * as Node's own system errors do. The addon's codes (native/common/
 * sys_error.h) are in this list too: a code it sends that is not here is
 * reported as ERR_TCPCENSUS_INTERNAL.
 */
export const ERROR_CODES = {
  ERR_TCPCENSUS: 'a failure with no more specific code',
  ERR_TCPCENSUS_OPTION: 'bad input: an unknown option, a bad value, or options that cannot go together (OptionError)',
  ERR_TCPCENSUS_MAX_SOCKETS: 'more sockets matched than maxSockets allows; nothing was returned (LimitError)',
  ERR_TCPCENSUS_UNSUPPORTED: 'the kernel or the socket source cannot give what was asked (cgroup ids from /proc/net/tcp or before Linux 5.7)',
  ERR_TCPCENSUS_OWNER_SOURCE: "owners 'bpf' was asked for and the eBPF iterator could not answer",
  ERR_TCPCENSUS_BPF: 'the eBPF iterator failed after it had been set up',
  ERR_TCPCENSUS_NO_MEMORY: 'the addon could not allocate a batch',
  ERR_TCPCENSUS_ADDON: 'the addon is not built, or was built from another version',
  ERR_TCPCENSUS_INTERNAL: 'a bug in tcpcensus: please report it',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether a code from the addon is one of ours. */
export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** A SystemError's code: the errno's name. */
export type ErrnoCode = `E${string}`;

export class TcpcensusError extends Error {
  override name = 'TcpcensusError';
  readonly code: ErrorCode | ErrnoCode;

  constructor(message: string, code: ErrorCode | ErrnoCode = 'ERR_TCPCENSUS') {
    super(message);
    this.code = code;
  }
}

export class SystemError extends TcpcensusError {
  override name = 'SystemError';
  readonly syscall: string;
  readonly errno: number;
  /** The file or directory the call was about, when there was one. */
  readonly path: string | undefined;
  /** The process the call was about, when there was one. */
  readonly pid: number | undefined;

  constructor(message: string, syscall: string, errno: number, code: string, extra: { path?: string; pid?: number } = {}) {
    super(message, /^E[A-Z0-9]+$/.test(code) ? (code as ErrnoCode) : 'EUNKNOWN');
    this.syscall = syscall;
    this.errno = errno;
    this.path = extra.path;
    this.pid = extra.pid;
  }
}

// An option's name inside a message, marked so the message can be worded
// for whoever reads it: the library's keys ("maxSockets") or the CLI's flags
// ("--max-sockets"). The marks are control characters, which no value shown
// in a message can hold (escape.ts writes them as \x01), so a value can
// never pass for an option's name.
const OPEN = '\u0001';
const VALUE = '\u0003';
const CLOSE = '\u0002';
const MARKED = /\u0001([A-Za-z]+)(?:\u0003([^\u0001-\u0003]*))?\u0002/g;

/** An option's name, marked for OptionError and LimitError messages. */
export const opt = (key: string): string => `${OPEN}${key}${CLOSE}`;

/** An option with a value to give it: `netns "pid:1234"` in the library's words, `--netns pid:1234` in the CLI's. */
export const optValue = (key: string, value: string): string => `${OPEN}${key}${VALUE}${value}${CLOSE}`;

/** How a vocabulary writes an option, with a value to give it or without. */
export type Namer = (key: string, value?: string) => string;

/** The library's words: the option's key; a value quoted after it. */
export const libraryWords: Namer = (key, value) => (value === undefined ? key : `${key} ${JSON.stringify(value)}`);

/** A marked message in some vocabulary. */
export function wordedWith(template: string, name: Namer): string {
  return template.replace(MARKED, (_m, key: string, value: string | undefined) => name(key, value));
}

export class OptionError extends TcpcensusError {
  override name = 'OptionError';
  /** The library option the message is about ("limit", "pids"), when it is about one. */
  readonly option: string | undefined;
  /** The message with each option's name marked (opt()); `message` has the library's names. */
  readonly template: string;

  constructor(message: string, option?: string) {
    super(wordedWith(message, libraryWords), 'ERR_TCPCENSUS_OPTION');
    this.template = message;
    this.option = option;
  }

  /** The message with each option named as `name` says (the CLI passes its flags). */
  worded(name: Namer): string {
    return wordedWith(this.template, name);
  }

  /** The same error about another option: a shared parser's error (parseStates for ownerStates) re-keyed. */
  rekeyed(key: string): OptionError {
    const from = this.option;
    const template = from === undefined ? this.template : this.template.split(opt(from)).join(opt(key));
    return new OptionError(template, key);
  }
}

/** More sockets matched than maxSockets allows: nothing was returned. */
export class LimitError extends TcpcensusError {
  override name = 'LimitError';
  /** The message with the option's name marked, as OptionError's. */
  readonly template: string;

  constructor(message: string) {
    const template = message.replace('(maxSockets)', `(${opt('maxSockets')})`);
    super(wordedWith(template, libraryWords), 'ERR_TCPCENSUS_MAX_SOCKETS');
    this.template = template;
  }

  worded(name: Namer): string {
    return wordedWith(this.template, name);
  }
}
