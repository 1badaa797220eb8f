/**
 * `tcpcensus serve`: a Prometheus exporter on Node's http server.
 *
 * /metrics (the metrics of metrics.ts and prom-client's default process
 * metrics, sampled on scrape), /healthz, and / with a page of links; GET and
 * HEAD only (405 otherwise), 404 for anything else. Bounded: headers at most
 * 8 KiB (431), no request bodies (413), a request must arrive whole within
 * the request timeout (408, and the connection is closed).
 *
 * Bounded against hostile clients too (issue 16), with no client able to
 * stall the loop or the others:
 * - One request at a time per connection, as HTTP/1.1 pipelining allows
 *   (RFC 9112 section 9.3.2): Node's parser is fed the next request only
 *   once the last response was handed to the kernel (left to itself it
 *   would make a request of every one in a 64 KiB read at once); meanwhile
 *   the socket is paused, so further requests wait unread and the client's
 *   writes block. A client whose response does not drain within the
 *   request timeout (it stopped reading), or with more than MAX_PIPELINED
 *   requests parsed ahead (a backstop), is disconnected; a client that left
 *   is dropped with its queue, and nothing is rendered for it.
 * - Concurrent scrapes share one rendering of the registry (and so one
 *   sample, and one read of the host limits).
 * - At most MAX_CONNECTIONS connections: a new one evicts the oldest
 *   connection with no request under way (idle, or still sending its
 *   header, as a slowloris does), so dribbling clients cannot lock scrapers
 *   out; only when every connection has a request under way is the new one
 *   refused.
 * - SIGTERM and SIGINT end the process within STOP_DEADLINE_MS under any
 *   load: every connection is destroyed, not waited for.
 *
 * See http.createServer (node:http), net.Socket pause/resume (node:net),
 * signal(7).
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BlockList, isIP } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { SystemError } from '../errors';
import { printable } from '../common/escape';
import { errnoText } from '../core/lookup';
import { installMetrics } from './metrics';
import { buildRequest } from '../request/options';
import type { MetricsOptions } from '../types';

export interface ServeOptions extends MetricsOptions {
  /** "ADDRESS:PORT", "[IPv6]:PORT" or "PORT" (127.0.0.1); default 127.0.0.1:10469. */
  listen?: string;
  /** A request must arrive whole within this: milliseconds or '10s' (default 10s). */
  requestTimeout?: number | string;
}

export interface Server {
  /** http://host:port, as bound. */
  url: string;
  close(): Promise<void>;
}

/** What the CLI wants to hear about that the library keeps quiet (see runServe). */
interface Hooks {
  /** The eBPF owner source could not be used and the /proc walk answered: why. */
  onOwnerFallback?: (reason: string) => void;
}

const MAX_HEADER_BYTES = 8192;
const MAX_CONNECTIONS = 128;
/** Requests parsed but not yet answered that one connection may have. */
const MAX_PIPELINED = 16;
/** SIGTERM/SIGINT: the process is gone within this, whatever the clients do. */
const STOP_DEADLINE_MS = 1500;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tcpcensus exporter</title></head>
<body><h1>tcpcensus exporter</h1>
<p>TCP sockets by state and by owning process, for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li></ul>
</body></html>
`;

type Exchange = [http.IncomingMessage, http.ServerResponse];

/** One connection: its requests in order, at most one of them being answered. */
interface Conn {
  socket: Socket;
  busy: boolean;
  queue: Exchange[];
  /** Node's parser's 'data' listener, which we feed (null: Node fed directly, the bound alone holds). */
  parse: ((d: Buffer) => void) | null;
  /** Bytes read but not yet given to the parser. */
  pending: Buffer | null;
  /** The last bytes given to the parser (a request end may straddle the two). */
  tail: Buffer;
}

const END = Buffer.from('\r\n\r\n');
const NONE = Buffer.alloc(0);

/**
 * Where the first request in `p` ends (the offset after its blank line),
 * counting a blank line begun in `tail`; -1 if none does. Our requests have
 * no body (one with a body is refused and the connection closed), so a
 * request ends at its first CRLFCRLF.
 */
function requestEnd(tail: Buffer, p: Buffer): number {
  if (tail.length > 0) {
    const k = Buffer.concat([tail, p.subarray(0, 3)]).indexOf(END);
    if (k >= 0) return k + 4 - tail.length;
  }
  const i = p.indexOf(END);
  return i < 0 ? -1 : i + 4;
}

/** Starts the exporter; resolves once it listens. */
export function serve(options: ServeOptions): Promise<Server> {
  return start(options, {});
}

async function start(options: ServeOptions, hooks: Hooks): Promise<Server> {
  const req = buildRequest('serve', options);
  const s = req.sampling!;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const shared = installMetrics(registry, req);
  if (hooks.onOwnerFallback) shared.onOwnerFallback = hooks.onOwnerFallback;

  // Scrapes share a rendering: the one under way, or the last one within
  // the min interval (its sample would be reused anyway). The default
  // process metrics read /proc/self for each rendering, so a burst of
  // scrapes must not mean a burst of those.
  let rendering: Promise<string> | null = null;
  let renderedAt = -Infinity;
  const render = (): Promise<string> => {
    if (rendering && performance.now() - renderedAt < s.minIntervalMs) return rendering;
    const p = registry.metrics();
    rendering = p;
    renderedAt = Infinity; // under way: shared
    p.then(
      () => {
        if (rendering === p) renderedAt = performance.now();
      },
      () => {
        if (rendering === p) rendering = null;
      },
    );
    return p;
  };

  const timeout = s.requestTimeoutMs;
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: timeout,
    headersTimeout: timeout,
    keepAliveTimeout: Math.min(5000, timeout),
    // How often Node checks the two timeouts above (default 30 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
  });
  server.maxHeadersCount = 100;

  // Oldest first (a Map keeps insertion order): the eviction order.
  const conns = new Map<Socket, Conn>();
  let closing = false;

  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (conns.size >= MAX_CONNECTIONS) {
      let victim: Conn | undefined;
      for (const c of conns.values()) {
        if (!c.busy && c.queue.length === 0) {
          victim = c;
          break;
        }
      }
      if (!victim) {
        socket.destroy();
        return;
      }
      conns.delete(victim.socket);
      victim.socket.destroy();
    }
    const c: Conn = { socket, busy: false, queue: [], parse: null, pending: null, tail: NONE };
    conns.set(socket, c);
    socket.once('close', () => {
      conns.delete(socket);
      c.queue.length = 0;
      c.pending = null;
    });
    // Node's parser takes a whole read (up to 64 KiB: thousands of
    // pipelined requests) at once, and makes a request of each before we
    // could refuse it. So we stand between: Node's listener is fed one
    // request at a time, when the last one was answered, and the rest
    // waits here (one read at most: the socket is paused meanwhile) and in
    // the kernel. Adding a 'data' listener makes Node read through the
    // stream rather than in C++ (its socket listener wrapper unconsumes).
    const listeners = socket.listeners('data');
    if (listeners.length === 1) {
      c.parse = listeners[0] as (d: Buffer) => void;
      socket.removeListener('data', c.parse);
      socket.on('data', (d: Buffer) => {
        // Node resumes the socket when a response ends (it drains the
        // request): what comes while a read is still left over goes back
        // to the stream, which then stops reading at its high-water mark.
        if (c.pending) {
          socket.pause();
          socket.unshift(d);
          return;
        }
        c.pending = d;
        feed(c);
      });
      socket.on('drain', () => feed(c));
    }
  });

  /** Gives the parser the next request when none is being answered; reads on only when nothing is left over. */
  function feed(c: Conn): void {
    const parse = c.parse;
    // Until a request arrives: bytes that make none (a stray CRLF between
    // requests) must not leave the rest waiting for nothing.
    for (;;) {
      if (!parse || c.socket.destroyed) return;
      // Node paused the socket for its own back-pressure: it resumes it on
      // 'drain', and we feed on then.
      if ((c.socket as Socket & { _paused?: boolean })._paused) return;
      if (c.busy || c.queue.length > 0) {
        if (c.pending) c.socket.pause();
        return;
      }
      const p = c.pending;
      if (!p) {
        c.socket.resume();
        return;
      }
      const end = requestEnd(c.tail, p);
      // A request's start without its end goes in whole: the parser keeps
      // it, and its header limits and timeout apply.
      const give = end < 0 ? p : p.subarray(0, end);
      c.pending = end < 0 || end === p.length ? null : p.subarray(end);
      c.tail = give.length >= 3 ? give.subarray(give.length - 3) : Buffer.concat([c.tail, give]).subarray(-3);
      if (c.pending) c.socket.pause();
      else c.socket.resume();
      parse(give);
    }
  }

  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const c = conns.get(request.socket);
    if (!c || request.socket.destroyed) {
      response.destroy();
      return;
    }
    c.queue.push([request, response]);
    if (c.queue.length > MAX_PIPELINED) {
      c.queue.length = 0;
      c.socket.destroy();
      return;
    }
    pump(c);
  });

  /** Answers the connection's next request if none is being answered; pauses reading while any wait. */
  function pump(c: Conn): void {
    if (c.busy || c.socket.destroyed) return;
    const next = c.queue.shift();
    if (!next) {
      if (c.parse) feed(c);
      else c.socket.resume();
      return;
    }
    c.busy = true;
    if (c.queue.length > 0) c.socket.pause();
    const [request, response] = next;
    void answer(request, response)
      .then(() => flushed(c, response))
      .then(() => {
        c.busy = false;
        // Node may resume the socket when a response ends (it drains the
        // request): decide again, after that, whether to read.
        setImmediate(() => {
          if (c.queue.length > 0 || c.pending) c.socket.pause();
          pump(c);
        });
      });
  }

  /** Resolves once the response was handed to the kernel, or the connection is gone (destroyed if it did not drain in time). */
  function flushed(c: Conn, response: http.ServerResponse): Promise<void> {
    if (response.writableFinished || c.socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        response.off('finish', done);
        response.off('close', done);
        resolve();
      };
      // A client that stopped reading: its answer must not wait in our memory.
      const timer = setTimeout(() => {
        c.socket.destroy();
        done();
      }, timeout);
      response.once('finish', done);
      response.once('close', done);
    });
  }

  async function answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    try {
      await handle(request, response);
    } catch (err) {
      if (response.destroyed) return;
      if (!response.headersSent)
        send(response, request, 500, 'text/plain; charset=utf-8', `tcpcensus: ${err instanceof Error ? err.message : String(err)}\n`);
      else response.destroy();
    }
  }

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, request, 405, 'text/plain; charset=utf-8', `${request.method} is not allowed; use GET or HEAD\n`);
      return;
    }
    // No request of ours has a body: refuse one rather than read it.
    if (Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined) {
      send(response, request, 413, 'text/plain; charset=utf-8', 'request bodies are not accepted\n');
      return;
    }
    if (path === '/metrics') {
      let text: string;
      try {
        text = await render();
      } catch (err) {
        if (response.destroyed) return;
        send(response, request, 500, 'text/plain; charset=utf-8', `tcpcensus: sample failed: ${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
      // The client left meanwhile: nothing to write.
      if (response.destroyed) return;
      send(response, request, 200, registry.contentType, text);
    } else if (path === '/healthz') {
      const e = shared.lastError;
      send(response, request, e ? 503 : 200, 'text/plain; charset=utf-8', e ? `last sample failed: ${e.message}\n` : 'ok\n');
    } else if (path === '/') {
      send(response, request, 200, 'text/html; charset=utf-8', PAGE);
    } else {
      send(response, request, 404, 'text/plain; charset=utf-8', `not found: ${path}; try /metrics\n`);
    }
  }

  const { host, port } = s.listen;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const errno = Math.abs(err.errno ?? 0);
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      reject(
        err.syscall
          ? new SystemError(`${err.syscall} ${where} failed: ${errnoText(errno).message}`, err.syscall, errno, err.code ?? 'EUNKNOWN', {
              path: where,
            })
          : err,
      );
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        // Not waited for: a request under way is cut.
        for (const socket of conns.keys()) socket.destroy();
        server.closeAllConnections();
      }),
  };
}

function send(response: http.ServerResponse, request: http.IncomingMessage, status: number, type: string, body: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', type);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  if (status >= 400) response.setHeader('Connection', 'close');
  response.end(request.method === 'HEAD' ? undefined : body);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a listen address is loopback only (127.0.0.0/8, ::1, ::ffff:127.x.y.z, localhost). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const h = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)?.[1] ?? host;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/** The CLI's serve: runs until SIGINT or SIGTERM, then exits 0 within STOP_DEADLINE_MS. */
export async function runServe(options: ServeOptions): Promise<void> {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let signalled = false;
  const onSignal = () => {
    // A second signal: at once.
    if (signalled) process.exit(0);
    signalled = true;
    // Whatever the clients or a sample under way do, we are gone by then.
    setTimeout(() => process.exit(0), STOP_DEADLINE_MS);
    stop();
  };
  // Listening for the signals before saying we serve: whoever reads that
  // line may signal us at once.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let told = false;
  const server = await start(options, {
    onOwnerFallback: (reason) => {
      if (told) return;
      told = true;
      process.stderr.write(`tcpcensus: the eBPF owner source could not be used: ${printable(reason)}; owners come from the /proc walk\n`);
    },
  });
  const host = new URL(server.url).hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host)) {
    process.stderr.write(
      `tcpcensus: warning: listening on ${server.url}, beyond loopback: whoever reaches it sees the pid and command of every socket's owner; ` +
        'restrict it (a firewall, systemd IPAddressAllow=) or turn the per-process series off with --top-processes 0\n',
    );
  }
  process.stderr.write(`tcpcensus: serving metrics on ${server.url}/metrics\n`);
  await stopped;
  await server.close();
  // prom-client's default metrics keep observers of their own: leave now.
  process.exit(0);
}
