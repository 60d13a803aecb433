/**
 * An operation type the schema lacks is a client error (DESIGN.md, Errors; issue 24 item 3): the real
 * server over HTTP, its log captured at debug.
 */
import { startStackForFile, type Stack } from './helpers/stack.js';

/** Every log line the gateway wrote, parsed. */
const logLines = (stack: Stack) => stack.logs.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string });

describe('an operation type the schema lacks', () => {
  const stack = startStackForFile({ env: { LOG_LEVEL: 'debug' } });

  it.each([
    ['with a token', undefined],
    ['without a token', null],
  ])('subscription { __typename } %s is GRAPHQL_VALIDATION_FAILED, HTTP 400, and no error in the log', async (_, token) => {
    const before = stack.logs.length;
    const { status, body } = await stack.graphql('subscription { __typename }', undefined, { token });
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      { message: 'This schema has no subscription operations.', locations: [{ line: 1, column: 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
    ]);
    const lines = logLines(stack).slice(before);
    expect(lines.some((line) => line.msg === 'request completed')).toBe(true);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(JSON.stringify(lines)).not.toMatch(/not configured to execute|stack/);
  });
});
