import { startStackForFile } from './helpers/stack.js';

describe('request log', () => {
  const stack = startStackForFile();

  it('writes one log line per request with operation, status and correlation id, and no credentials', async () => {
    const id = '0f6f1f3e-8a7b-4c2d-9e1f-2a3b4c5d6e7f';
    await stack.graphql('query WhoAmI { viewer { authenticated } }', undefined, { headers: { 'x-correlation-id': id } });
    const lines = stack.logs.map((l) => JSON.parse(l)).filter((l) => l.correlationId === id && l.msg === 'request completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ operationName: 'WhoAmI', operationType: 'query', status: 200, path: '/graphql' });
    expect(stack.logs.join('\n')).not.toContain(stack.token);
  });
});
