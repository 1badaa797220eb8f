// The package as a new user meets it: a fresh clone installs without
// changing the lock file, and ships the LICENSE it declares.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const h = require('./helpers');

const read = (f) => fs.readFileSync(path.join(h.ROOT, f), 'utf8');
const pkg = JSON.parse(read('package.json'));

test('package-lock.json records the dependencies package.json asks for (npm install leaves a clone clean)', () => {
  const lock = JSON.parse(read('package-lock.json'));
  const root = lock.packages[''];
  for (const field of ['dependencies', 'devDependencies']) assert.deepEqual(root[field], pkg[field], field);
  assert.equal(root.name, pkg.name);
  assert.equal(root.version, pkg.version);
  assert.equal(root.license, pkg.license);
});

test('the MIT licence the package declares is in a LICENSE file that npm packs', () => {
  assert.equal(pkg.license, 'MIT');
  const text = read('LICENSE');
  assert.match(text, /^MIT License\n\nCopyright \(c\) \d{4} /);
  assert.match(text, /Permission is hereby granted, free of charge/);
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: h.ROOT }).toString());
  assert.ok(packed[0].files.some((f) => f.path === 'LICENSE'), 'LICENSE in the tarball');
});
