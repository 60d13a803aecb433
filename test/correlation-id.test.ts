import { startStackForFile } from './helpers/stack.js';

describe('correlation id', () => {
  const stack = startStackForFile();

  it('echoes a GUID x-correlation-id and forwards it upstream as MS-CorrelationId', async () => {
    const id = '5b0cf5b6-3c4e-4f6b-9a51-1f0c2a3e4d5f';
    stack.emulator.clearRequests();
    const response = await stack.graphql('{ supportProfile { id } }', undefined, { headers: { 'x-correlation-id': id } });
    expect(response.headers.get('x-correlation-id')).toBe(id);
    const upstream = stack.emulator.requests({ service: 'partner-center' });
    expect(upstream.length).toBeGreaterThan(0);
    expect(upstream.every((r) => r.headers['ms-correlationid'] === id)).toBe(true);
  });

  it('replaces a non-GUID x-correlation-id with a new GUID', async () => {
    const response = await fetch(`${stack.url}/healthz`, { headers: { 'x-correlation-id': 'not a guid; drop table' } });
    expect(response.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
