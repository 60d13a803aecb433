import { startStack, startStackForFile } from './helpers/stack.js';

describe('health', () => {
  const stack = startStackForFile();

  it('answers /healthz while the process is alive', async () => {
    const response = await fetch(`${stack.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when the upstreams answer, saying reachable and what the probe got (no bare status)', async () => {
    const response = await fetch(`${stack.url}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ready: boolean; upstreams: Record<string, Record<string, unknown>> };
    expect(body).toMatchObject({ ready: true });
    for (const service of ['partner-center', 'graph']) {
      expect(body.upstreams[service]).toEqual({ reachable: true, probe: expect.stringMatching(/^GET \/ answered \d{3} [A-Z][\w ]+ \(any answer means reachable\)$/), circuit: 'closed' });
      expect(body.upstreams[service]).not.toHaveProperty('status');
    }
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
