import { startStack, startStackForFile } from './helpers/stack.js';

describe('health', () => {
  const stack = startStackForFile();

  it('answers /healthz while the process is alive', async () => {
    const response = await fetch(`${stack.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when the upstreams answer', async () => {
    const response = await fetch(`${stack.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ready: true });
  });
});

describe('readiness', () => {
  it('answers /readyz 503 with a JSON reason when an upstream does not answer', async () => {
    const stack = await startStack();
    await stack.emulator.close();
    try {
      const response = await fetch(`${stack.url}/readyz`);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { ready: boolean };
      expect(body.ready).toBe(false);
      expect(JSON.stringify(body)).toMatch(/partner-center|graph/);
    } finally {
      await stack.gateway.close();
    }
  });
});
