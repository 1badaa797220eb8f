// holder.js: startHolder, a child process holding a known number of CLOSE_WAIT
// (and TIME_WAIT) sockets on loopback, for the soak bench and the owner tests.
// Copied from the tests' helpers with only what it needs, so that bench/ and
// test/ share it here instead of importing each other. The child is
// holder-child.js; it prints one JSON line {"pid","port"} when its sockets
// are in place and holds them until its stdin closes.
//
//   const { startHolder } = require('../../harness/holder');
//   const h = await startHolder('soak-holder', 2000);   // h.info.pid, h.info.port
//   await h.stop();
//
// Man pages: tcp(7) (CLOSE_WAIT, TIME_WAIT), proc(5) (/proc/<pid>/comm).
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const children = new Set();
function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAll);

/** Starts a fixture and resolves with its first stdout line parsed as JSON. */
function startFixture(cmd, args, { timeoutMs = 30000, spawnOpts = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: not ready in ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      resolve({
        child,
        info,
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => {
              children.delete(child);
              res();
            });
            child.stdin.end();
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${stderr}`));
    });
  });
}

/**
 * holder-child.js titled `title` (what /proc/<pid>/comm shows), holding
 * `closeWait` CLOSE_WAIT sockets and `timeWait` TIME_WAIT ones, listening on
 * host (4: 127.0.0.1, 6: ::1, or an address), its clients bound to
 * clientHost. prefix: a command to run node under, e.g. setpriv to another user.
 * Resolves with {child, info: {pid, port}, stop()}.
 */
function startHolder(title, closeWait, timeWait = 0, host = '4', { clientHost, prefix } = {}) {
  const args = [path.join(__dirname, 'holder-child.js'), title, String(closeWait), String(timeWait), host];
  if (clientHost) args.push(clientHost);
  return prefix ? startFixture(prefix[0], [...prefix.slice(1), process.execPath, ...args]) : startFixture(process.execPath, args);
}

module.exports = { startHolder };
