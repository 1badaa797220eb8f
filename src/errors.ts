/**
 * The error classes tcpcensus throws. A SystemError is a failed system call
 * (message "<syscall>[ <path>] failed: <strerror>", or "cannot read
 * <path>: <strerror>" for a process named in pids; with syscall, errno and
 * code as in Node's own system errors, plus path and pid when it was about
 * one); an OptionError is bad input from the caller; a LimitError a bound the
 * caller set (maxSockets) that the answer would break. The CLI maps
 * OptionError to exit code 2 and the others to exit code 1.
 */

export class TcpcensusError extends Error {
  override name = 'TcpcensusError';
  readonly code: string;

  constructor(message: string, code = 'ERR_TCPCENSUS') {
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
    super(message, code);
    this.syscall = syscall;
    this.errno = errno;
    this.path = extra.path;
    this.pid = extra.pid;
  }
}

export class OptionError extends TcpcensusError {
  override name = 'OptionError';
  /**
   * The library option the message is about ("limit", "pids"), when it is
   * about one; the message then starts with that name, so the CLI can say
   * "--limit" or "--pid" instead.
   */
  readonly option: string | undefined;

  constructor(message: string, option?: string) {
    super(message, 'ERR_TCPCENSUS_OPTION');
    this.option = option;
  }
}

/** More sockets matched than maxSockets allows: nothing was returned. */
export class LimitError extends TcpcensusError {
  override name = 'LimitError';

  constructor(message: string) {
    super(message, 'ERR_TCPCENSUS_MAX_SOCKETS');
  }
}
