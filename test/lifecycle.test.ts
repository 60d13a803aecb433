import { startStack } from './helpers/stack.js';
import { startMain } from './helpers/main-process.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests before closing, and then closes (keep-alive connections included)', async () => {
    const stack = await startStack();
    try {
      stack.emulator.setLatency(300);
      const inFlight = stack.graphql('{ supportProfile { id } }');
      // Close once the request has reached the upstream, i.e. is really in flight.
      // (The emulator records a request once it has answered: the JWKS fetch comes before the slow upstream call.)
      while (stack.emulator.requests({ service: 'identity' }).length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      const closed = stack.gateway.close();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      await closed;
      await expect(fetch(`${stack.url}/healthz`)).rejects.toThrow();
    } finally {
      await stack.emulator.close();
    }
  });
});

describe('process lifecycle', () => {
  it('starts on the emulator with no configuration, serves viewer, and exits 0 on SIGTERM', async () => {
    const main = startMain({ LOG_LEVEL: 'warn' });
    try {
      const url = await main.listening();
      const token = /"Authorization": "Bearer ([^"]+)"/.exec(main.stdout())?.[1];
      expect(token).toBeDefined();
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { authenticated } supportProfile { id } }' }),
      });
      const body = (await response.json()) as { data: { viewer: { authenticated: boolean }; supportProfile: { id: string } } };
      expect(body.data.viewer.authenticated).toBe(true);
      expect(body.data.supportProfile.id).toBeTruthy();
    } finally {
      main.child.kill('SIGTERM');
    }
    const [code] = await main.exited;
    expect(code).toBe(0);
  });
});
