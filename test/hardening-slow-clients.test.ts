/**
 * Slow clients (issue 16): a client that trickles its body or its headers is cut off, and connections
 * beyond the cap are refused, so a handful of sockets cannot hold the gateway. Small configured
 * timeouts keep the tests short; raw sockets on 127.0.0.1 speak the HTTP by hand.
 */
import { connect, type Socket } from 'node:net';
import { startStackForFile } from './helpers/stack.js';

/** Opens a raw socket to the gateway and collects what it answers until the gateway closes it. */
async function open(url: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { socket, closed };
}

describe('slow clients', () => {
  const stack = startStackForFile({ env: { REQUEST_TIMEOUT_MS: '400', HEADERS_TIMEOUT_MS: '300', MAX_CONNECTIONS: '4' } });

  it('cuts off a client that sends its body one byte at a time (408, connection closed)', async () => {
    const { socket, closed } = await open(stack.url);
    socket.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{');
    // One more byte now and then would not help: the request timeout counts the whole request.
    const drip = setInterval(() => socket.write(' '), 100);
    try {
      expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
  }, 10_000);

  it('cuts off a client that never finishes its headers', async () => {
    const { socket, closed } = await open(stack.url);
    socket.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(await closed).toMatch(/^(HTTP\/1\.1 408 |$)/);
  }, 10_000);

  it('refuses connections beyond MAX_CONNECTIONS while still serving once they are gone', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => open(stack.url)));
    // A request on each proves the server accepted (and counts) all four.
    for (const { socket } of held) socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('data', resolve))));
    const extra = await open(stack.url);
    expect(await extra.closed).toBe('');
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  }, 10_000);
});
