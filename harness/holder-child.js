// holder-child.js: a child process that holds a known number of TCP sockets in a
// known state, for the bench (holder.js's startHolder) and the owner tests (test/helpers/holders.ts).
//
//   node holder-child.js <title> <closeWait> [timeWait] [host] [clientHost]
//
// host is 4 (127.0.0.1), 6 (::1) or an address to listen on; clientHost is
// the local address the clients connect from.
//
// It listens on loopback, connects <closeWait> clients to itself and closes
// them; the accepted ends stay open in CLOSE_WAIT (allowHalfOpen: we never
// end them). With [timeWait] it also makes that many TIME_WAIT sockets (its
// own connections closed from the client side after the server closed).
// It sets process.title, which is what /proc/<pid>/comm shows, prints one JSON
// line {"pid","port"} when every socket is in place, and holds them until its
// stdin closes.
'use strict';
const net = require('node:net');

const [title, closeWaitArg, timeWaitArg = '0', hostArg = '4', clientHost] = process.argv.slice(2);
process.title = title;
const host = hostArg === '6' ? '::1' : hostArg === '4' ? '127.0.0.1' : hostArg;
const closeWait = Number(closeWaitArg);
const timeWait = Number(timeWaitArg);
const held = [];

const server = net.createServer({ allowHalfOpen: true }, (sock) => {
  held.push(sock);
  sock.on('error', () => {});
});

function connectOnce(port) {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host, ...(clientHost ? { localAddress: clientHost } : {}) }, () => resolve(c));
    c.on('error', reject);
  });
}

async function main() {
  await new Promise((resolve) => server.listen(0, host, resolve));
  const { port } = server.address();
  const clients = [];
  for (let i = 0; i < closeWait; i++) clients.push(await connectOnce(port));
  // Every accepted end must exist before the clients go away.
  while (held.length < closeWait) await new Promise((r) => setTimeout(r, 5));
  const ended = held.map((s) => new Promise((r) => s.once('end', r)));
  for (const c of clients) c.destroy();
  await Promise.all(ended); // each accepted end got the FIN: CLOSE_WAIT

  // TIME_WAIT: the client side closes first, then the server side closes too.
  for (let i = 0; i < timeWait; i++) {
    const c = await connectOnce(port);
    while (held.length <= closeWait) await new Promise((r) => setTimeout(r, 5));
    const s = held.pop();
    const closed = new Promise((r) => c.once('close', r));
    c.end();
    await new Promise((r) => s.once('end', r));
    s.end();
    await closed;
  }
  process.stdout.write(JSON.stringify({ pid: process.pid, port }) + '\n');
}

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
main().catch((err) => {
  process.stderr.write(`holder: ${err.stack}\n`);
  process.exit(1);
});
