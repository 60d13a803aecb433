/** The listening part of the tests' small HTTP servers (upstream doubles, receivers, pages). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on an ephemeral loopback port. */
export interface LoopbackServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops listening and ends every connection, kept-alive ones included, so a test never waits on a client. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0. */
export async function listenOnLoopback(server: Server): Promise<LoopbackServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A loopback port that was free a moment ago, for a listener the test cannot ask for port 0 (METRICS_PORT,
 * where 0 turns metrics off).
 */
export async function freePort(): Promise<number> {
  const probe = await listenOnLoopback(createServer());
  await probe.close();
  return probe.port;
}
