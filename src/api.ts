/**
 * The public library calls: countStates, topProcesses and snapshot, each with
 * an async form (the kernel work and the file look-ups run off the event
 * loop) and a Sync form. Each is the same three steps, so the two forms
 * cannot disagree: check the options (options.ts), run (runner.ts), shape
 * the result (counts.ts, top.ts, table.ts).
 */
import { stateCounts } from './counts';
import { checkOptions, checkOptionsSync } from './options';
import * as runner from './runner';
import { SocketTable } from './table';
import { topReport } from './top';
import type { CountOptions, SnapshotOptions, StateCounts, TopOptions, TopReport } from './types';
import { userNames, userNamesSync } from './users';

const clock = () => {
  const start = process.hrtime.bigint();
  return () => Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
};

/** Counts TCP sockets by state. Touches /proc only when pids is given. */
export async function countStates(options?: CountOptions): Promise<StateCounts> {
  const took = clock();
  const req = await checkOptions('countStates', options);
  return stateCounts(req.raw.states, await runner.count(req), took);
}

export function countStatesSync(options?: CountOptions): StateCounts {
  const took = clock();
  const req = checkOptionsSync('countStates', options);
  return stateCounts(req.raw.states, runner.countSync(req), took);
}

/** The processes (or commands, peers, ports, users) holding the most sockets in the given states. */
export async function topProcesses(options?: TopOptions): Promise<TopReport> {
  const took = clock();
  const req = await checkOptions('topProcesses', options);
  const [t, users] = await Promise.all([runner.sample(req), req.by === 'user' ? userNames() : undefined]);
  return topReport(req, t, users, took);
}

export function topProcessesSync(options?: TopOptions): TopReport {
  const took = clock();
  const req = checkOptionsSync('topProcesses', options);
  const t = runner.sampleSync(req);
  return topReport(req, t, req.by === 'user' ? userNamesSync() : undefined, took);
}

/** Every matching socket as a columnar table, optionally with owners. */
export async function snapshot(options?: SnapshotOptions): Promise<SocketTable> {
  return new SocketTable(await runner.sample(await checkOptions('snapshot', options)));
}

export function snapshotSync(options?: SnapshotOptions): SocketTable {
  return new SocketTable(runner.sampleSync(checkOptionsSync('snapshot', options)));
}
