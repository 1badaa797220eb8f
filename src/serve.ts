/**
 * `tcpcensus serve`: a Prometheus exporter on Node's http server.
 *
 * /metrics (the metrics of metrics.ts and prom-client's default process
 * metrics, sampled on scrape), /healthz, and / with a page of links; GET and
 * HEAD only (405 otherwise), 404 for anything else. Bounded: headers at most
 * 8 KiB (431), no request bodies (413), a request must arrive whole within
 * the request timeout (408, and the connection is closed), at most 128
 * connections at once; a slow client stalls nobody (the loop never waits
 * for one).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { SystemError } from './errors';
import { errnoText } from './lookup';
import { installMetrics } from './metrics';
import { buildRequest } from './options';
import type { MetricsOptions } from './types';

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

const MAX_HEADER_BYTES = 8192;
const MAX_CONNECTIONS = 128;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tcpcensus exporter</title></head>
<body><h1>tcpcensus exporter</h1>
<p>TCP sockets by state and by owning process, for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li></ul>
</body></html>
`;

/** Starts the exporter; resolves once it listens. */
export async function serve(options: ServeOptions): Promise<Server> {
  const req = buildRequest('serve', options);
  const s = req.sampling!;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const shared = installMetrics(registry, req);

  const timeout = s.requestTimeoutMs;
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: timeout,
    headersTimeout: timeout,
    keepAliveTimeout: Math.min(5000, timeout),
    // How often Node checks the two timeouts above (default 30 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
  }, (request, response) => {
    handle(request, response).catch((err: unknown) => {
      if (!response.headersSent) send(response, request, 500, 'text/plain; charset=utf-8', `tcpcensus: ${err instanceof Error ? err.message : String(err)}\n`);
      else response.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.maxHeadersCount = 100;

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
        text = await registry.metrics();
      } catch (err) {
        send(response, request, 500, 'text/plain; charset=utf-8', `tcpcensus: sample failed: ${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
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
      reject(err.syscall ? new SystemError(`${err.syscall} ${where} failed: ${errnoText(errno).message}`, err.syscall, errno, err.code ?? 'EUNKNOWN', { path: where }) : err);
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
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

/** The CLI's serve: runs until SIGINT or SIGTERM, then closes and exits 0. */
export async function runServe(options: ServeOptions): Promise<void> {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  // Listening for the signals before saying we serve: whoever reads that
  // line may signal us at once.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const server = await serve(options);
  process.stderr.write(`tcpcensus: serving metrics on ${server.url}/metrics\n`);
  await stopped;
  await server.close();
  // prom-client's default metrics keep observers of their own: leave now.
  process.exit(0);
}
