/**
 * Public calls whose modules load only when called: registerMetrics pulls in
 * prom-client, which `require('tcpcensus')` must not load for a service
 * that only counts sockets.
 */
import type { Registry } from 'prom-client';
import type { MetricsOptions } from './types';

/**
 * Puts tcpcensus's metrics into a prom-client registry, sampled on that
 * registry's scrapes (see README, "Metrics"). Throws OptionError for bad
 * options.
 */
export function registerMetrics(registry: Registry, options?: MetricsOptions): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./metrics') as typeof import('./metrics')).registerMetrics(registry, options);
}
