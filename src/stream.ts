/**
 * snapshotStream: snapshot's sockets as an async iterable of small tables,
 * for a caller that handles rows as they come (tcpcensus list). Without
 * owners each batch is read from the kernel only when the caller asks for
 * the next one (runner.stream), so memory is one batch whatever the socket
 * count. What does not stream, and why: with processes or pids the owners
 * are joined to a whole dump (the addon's snapshot), so each namespace's
 * table comes as one batch; the /proc/net/tcp source is read whole in the
 * addon and then handed out in batches. With allNetns the namespaces come
 * one after the other, each batch labelled with its namespace; one that
 * goes away before its dump starts is skipped, as snapshot skips it
 * (all-netns.ts).
 * Man pages: sock_diag(7), netlink(7).
 */
import { inOneNetns, netnsLabel } from './core/all-netns';
import { runAsync } from './core/lookup';
import { checking, type Request } from './request/options';
import * as runner from './core/runner';
import { SocketTable } from './report/table';
import type { NetnsLabel, SnapshotOptions } from './types';

export interface SnapshotBatch {
  table: SocketTable;
  /** The namespace of these rows with allNetns; null without. */
  netns: NetnsLabel | null;
}

async function* oneNamespace(req: Request, netns: NetnsLabel | null): AsyncGenerator<SnapshotBatch> {
  if (req.raw.owners || req.pids) {
    yield { table: new SocketTable(await runner.sample(req), req.procHidden), netns };
    return;
  }
  for await (const batch of runner.stream(req)) yield { table: new SocketTable(batch, req.procHidden), netns };
}

/** Every matching socket, in batches of a few thousand rows (see the module comment for what streams). */
export async function* snapshotStream(options?: SnapshotOptions & { allNetns?: boolean }): AsyncGenerator<SnapshotBatch> {
  const req = await runAsync(checking('snapshot', options));
  if (!req.allNetns) {
    yield* oneNamespace(req, null);
    return;
  }
  const list = await runner.listNetns(req);
  for (const n of list.namespaces) {
    // The first batch opens the dump: where a namespace that went away shows.
    let it: AsyncGenerator<SnapshotBatch> | undefined;
    const first = async (r: Request) => {
      await it?.return(undefined);
      it = oneNamespace(r, netnsLabel(n));
      const next = await it.next();
      return { next, netnsInode: next.done ? n.inode : next.value.table.netnsInode };
    };
    try {
      const one = await inOneNetns(req, n, first);
      if ('skipped' in one) continue; // gone during the run, as snapshot skips it
      let next = one.result.next;
      while (!next.done) {
        yield next.value;
        next = await it!.next();
      }
    } finally {
      await it?.return(undefined); // the caller stopped early: close this namespace's dump
    }
  }
}
