/**
 * The error classes tcpcensus throws. A SystemError is a failed system call
 * (message "<syscall> failed: <strerror>", with syscall, errno and code as in
 * Node's own system errors); an OptionError is bad input from the caller.
 * The CLI maps the first to exit code 1 and the second to exit code 2.
 */

export class TcpcensusError extends Error {
  override name = 'TcpcensusError';
}

export class SystemError extends TcpcensusError {
  override name = 'SystemError';
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;

  constructor(message: string, syscall: string, errno: number, code: string) {
    super(message);
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}

export class OptionError extends TcpcensusError {
  override name = 'OptionError';
  readonly code = 'ERR_TCPCENSUS_OPTION';
}
