/**
 * `tcpcensus serve`: the Prometheus exporter (../../metrics/serve.ts),
 * loaded only when run: no other command loads prom-client or node:http.
 */
import { DEFAULT_PORT } from '../../request/option-table';
import type { CliCommand } from './types';

export const serve: CliCommand = {
  name: 'serve',
  description: `a Prometheus exporter: /metrics on 127.0.0.1:${DEFAULT_PORT} by default, sampled on scrape`,
  examples: `
Examples:
  $ tcpcensus serve                                   # http://127.0.0.1:${DEFAULT_PORT}/metrics
  $ tcpcensus serve --listen 0.0.0.0:${DEFAULT_PORT} --owner-states close-wait,syn-recv
  $ curl -s 127.0.0.1:${DEFAULT_PORT}/metrics | grep tcpcensus_command_sockets`,
  async run(o) {
    const { runServe } = await import('../../metrics/serve');
    await runServe(o);
  },
};
