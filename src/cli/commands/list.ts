/**
 * `tcpcensus list`: one row per socket, like ss -tan. It streams: each batch
 * of rows (snapshotStream: a few thousand, read from the kernel only when
 * asked for) is turned into text, written, and let go before the next is
 * read, so memory is a batch, not the socket count. The output is what it
 * was when the whole table was held. A failure part-way is said on stderr
 * and exits 1 (main.ts's fatal): the document on stdout is then cut, never
 * passed off as whole.
 */
import { snapshotStream } from '../../stream';
import type { SocketRow, SocketTable } from '../../report/table';
import type { NetnsLabel } from '../../types';
import { ChunkWriter } from '../text/chunk-writer';
import { listHeader, listLine, sourceLines } from '../text/format';
import { clearProgress, netnsFlag, unreadable, withProgress } from './shared';
import type { CliCommand } from './types';
import { jsonText, say } from '../text/style';

// JSON.stringify({ ...r, pid, command, netnsInode, netnsName }) written
// out key by key: the same bytes without a second object per row.
const q = (v: unknown) => jsonText(v);
const nsTail = (ns: NetnsLabel | null) => (ns ? `,"netnsInode":${ns.inode},"netnsName":${q(ns.name)}` : '');
const full = (r: SocketRow, ns: NetnsLabel | null) =>
  `{"state":${q(r.state)},"family":${q(r.family)},"localAddress":${q(r.localAddress)},"localPort":${r.localPort},` +
  `"remoteAddress":${q(r.remoteAddress)},"remotePort":${r.remotePort},"recvQ":${r.recvQ},"sendQ":${r.sendQ},"uid":${r.uid},` +
  `"inode":${r.inode},"pid":${r.pid ?? null},"command":${q(r.command ?? null)}${nsTail(ns)}}`;
const label = (ns: NetnsLabel) => ns.name ?? String(ns.inode);

export const list: CliCommand = {
  name: 'list',
  description: 'one row per socket, like ss -tan',
  examples: `
Examples (replace: netstat -tanp | grep :5432):
  $ tcpcensus list -s close-wait -p --dport 5432
  $ tcpcensus list --pid 1234 --ndjson | jq .remoteAddress
  $ tcpcensus list --cgroup /system.slice/nginx.service -s estab`,
  async run(options, cli) {
    const { limit, ...o } = options;
    const withProcs = o.processes === true;
    let left = limit ?? Infinity;
    let started = false;
    let firstRow = true;
    let firstTable: SocketTable | undefined;
    let shared = 0;
    let unreadableCount = 0;
    let hidden: string | undefined;
    const out = new ChunkWriter();
    const begin = async () => {
      if (started) return;
      started = true;
      clearProgress();
      if (cli.ndjson) return;
      await out.line(cli.json ? '[' : listHeader(withProcs, o.allNetns === true));
    };
    for await (const { table, netns } of snapshotStream(withProgress(netnsFlag(o), cli))) {
      firstTable ??= table;
      shared += table.owners?.shared ?? 0;
      unreadableCount = Math.max(unreadableCount, table.owners?.unreadableProcesses ?? 0);
      hidden ??= table.owners?.procHidden ?? undefined;
      await begin();
      const n = Math.min(left, table.length);
      for (let i = 0; i < n; i++) {
        const r = table.row(i);
        let isFull: boolean;
        if (cli.ndjson) isFull = out.add(full(r, netns));
        else if (cli.json) {
          isFull = out.add((firstRow ? '' : ',') + full(r, netns));
          firstRow = false;
        } else isFull = out.add(listLine(r, withProcs, netns ? label(netns) : undefined));
        if (isFull) await out.flush();
      }
      left -= n;
      if (left <= 0) break; // closes the dump
    }
    await begin();
    if (cli.json && !cli.ndjson) await out.line(']');
    await out.flush();
    if (!cli.json && !cli.ndjson) {
      if (withProcs && shared) {
        say(`${shared} sockets are shared by several processes; PID shows the lowest`);
      }
      // What the source could not show of what list shows (a '?' in Send-Q of LISTEN rows), said once.
      const shown = firstTable && { ...firstTable, unknown: firstTable.unknown.filter((u) => u === 'boundInactive' || u === 'listenBacklog') };
      if (shown) for (const l of sourceLines(shown)) say(l);
    }
    unreadable(unreadableCount, hidden, o.procRoot);
  },
};
