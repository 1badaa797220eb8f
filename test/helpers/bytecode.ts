// The INET_DIAG_REQ_BYTECODE program (sock_diag(7)) the library compiles for
// address and port filters, for tests that call the raw binding.
import { compileFilter, parsePortRange, parsePrefix, type FilterSpec } from '../../src/request/filter';

export interface FilterInput {
  sport?: unknown;
  dport?: unknown;
  src?: unknown;
  dst?: unknown;
}

/** The program for these filters ({ sport, dport, src, dst } as the library takes them). */
export function filterBytecode(o: FilterInput): Uint8Array | undefined {
  const spec: FilterSpec = {};
  for (const k of ['sport', 'dport'] as const) if (o[k] !== undefined) spec[k] = parsePortRange(o[k], k);
  for (const k of ['src', 'dst'] as const) if (o[k] !== undefined) spec[k] = parsePrefix(o[k], k);
  return compileFilter(spec);
}
