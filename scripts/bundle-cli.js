#!/usr/bin/env node
// bundle-cli.js: bundles dist/cli/main.js (tsc's output) into the one file dist/cli.js, the bin (npm run build, prepare).
//
// tsc writes dist/ as CommonJS modules; every command would then resolve and
// compile about 30 files and commander's five before doing any work. One
// bundle cuts that start-up cost (issue 10's budget: the whole CLI at most
// `node -e 0` + 30 ms on a small host). prom-client stays outside: only
// `serve` loads it, lazily.
//
// commander requires node:child_process at load time, for executable
// subcommands tcpcensus never has; loading it (and node:net under it) costs
// every command several milliseconds. Inside commander it is replaced by a
// module that requires the real one on first use, so nothing changes if it
// is ever used.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const dist = path.join(__dirname, '..', 'dist');

const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

esbuild
  .build({
    entryPoints: [path.join(dist, 'cli', 'main.js')],
    outfile: path.join(dist, 'cli.js'),
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: ['prom-client'],
    logLevel: 'warning',
    plugins: [lazyChildProcess],
  })
  .then(
    () => require('node:fs').chmodSync(path.join(dist, 'cli.js'), 0o755),
    (err) => {
      process.stderr.write(`bundle-cli: ${err.message}\n`);
      process.exit(1);
    },
  );
