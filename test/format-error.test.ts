import { startStackForFile } from './helpers/stack.js';

describe('errors before execution', () => {
  const stack = startStackForFile();

  it('answers malformed GraphQL with HTTP 400 and a GraphQL error body', async () => {
    const response = await stack.graphql('{ viewer { authenticated ');
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});
