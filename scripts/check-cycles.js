#!/usr/bin/env node
// check-cycles.js: fails on any import cycle among the repo's own modules,
// type-only imports and CommonJS require() included (npm run lint).
//
//   node scripts/check-cycles.js [DIR...]   (default: src test bench harness scripts)
//
// import-x/no-cycle (eslint.config.mjs) skips both: it never follows an
// `import type`, and it builds no graph from a CommonJS file. A type-only
// cycle costs nothing at run time, but it ties two modules' types together
// as surely as a value import does, and test/, bench/, harness/ are
// CommonJS. TypeScript's own pre-processor lists every import, export ...
// from, import() and require() of a file; relative ones are resolved as
// TypeScript and Node do (the exact path, then .ts, .js, then index).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];
const SKIP = new Set(['node_modules', 'dist', 'build', 'native', 'results']);

function* sourceFiles(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP.has(e.name) && !e.name.startsWith('.')) yield* sourceFiles(p);
    } else if (EXTENSIONS.includes(path.extname(e.name)) && !e.name.endsWith('.d.ts')) {
      yield p;
    }
  }
}

function resolve(from, spec) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const base = path.resolve(path.dirname(from), spec);
  // An import written with .js that names a .ts file (ESM style).
  const stem = base.replace(/\.[cm]?js$/, '');
  const candidates = [base, ...EXTENSIONS.map((x) => base + x), ...['.ts', '.mts', '.cts'].map((x) => stem + x)];
  candidates.push(...EXTENSIONS.map((x) => path.join(base, 'index' + x)));
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/** The import graph of the files under dirs: file -> files it imports. */
function importGraph(dirs) {
  const graph = new Map();
  for (const dir of dirs) {
    for (const file of sourceFiles(dir)) {
      const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      const to = new Set();
      for (const { fileName } of importedFiles) {
        const target = resolve(file, fileName);
        if (target && target !== file) to.add(target);
      }
      graph.set(file, to);
    }
  }
  return graph;
}

/** Every strongly connected component of more than one file (Tarjan), as one cycle through it. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(pathThrough(graph, new Set(scc), v));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

// A shortest cycle from start back to start inside one component, for the message.
function pathThrough(graph, members, start) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const route = [start];
        for (let u = v; u !== start; u = prev.get(u)) route.splice(1, 0, u);
        return [...route, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

module.exports = { importGraph, cycles };

if (require.main === module) {
  const args = process.argv.slice(2);
  const dirs = (args.length > 0 ? args : ['src', 'test', 'bench', 'harness', 'scripts']).map((d) => path.resolve(ROOT, d));
  const graph = importGraph(dirs);
  const found = cycles(graph);
  for (const route of found) console.error(`import cycle: ${route.map((f) => path.relative(ROOT, f)).join(' -> ')}`);
  if (found.length > 0) process.exit(1);
  console.log(`no import cycle among ${graph.size} files`);
}
