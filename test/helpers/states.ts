// Every TCP state on loopback, made for real by fixtures/make_states.py
// (tcp(7); the state machine of RFC 793).
import path from 'node:path';
import { startFixture, type Fixture } from './fixture';
import { FIXTURES, PYTHON } from './paths';

/** The make_states.py fixture: every TCP state on loopback. */
// Its setup polls /proc/net/tcp*, which is slow on a host with many sockets:
// give it time rather than fail a busy machine.
export function startStates(args: string[] = ['--close'], opts: { timeoutMs?: number } = { timeoutMs: 120000 }): Promise<Fixture> {
  return startFixture(PYTHON, [path.join(FIXTURES, 'make_states.py'), '--timeout', '90', ...args], opts);
}
