// What a test's assert.throws / assert.rejects validator receives: an Error
// with the fields tcpcensus's errors carry (errors.ts: code, syscall, errno,
// path, pid, option), any of them absent on an error of another kind.
export type Thrown = Error & {
  code?: string;
  syscall?: string;
  errno?: number;
  path?: string;
  pid?: number;
  option?: string;
  cause?: unknown;
};
