/**
 * Messages never quote what the client wrote, and an operation type the schema lacks is a client error
 * (README, Errors; issue 24 items 3 and 4): the real server over HTTP, its log captured at debug.
 */
import { startStackForFile, type Stack } from './helpers/stack.js';

const SECRET = 'Hunter2-S3cret!Pw';

/** Every log line the gateway wrote, parsed. */
const logLines = (stack: Stack) => stack.logs.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string });

describe('syntax errors and unknown operation names quote nothing the client wrote', () => {
  const stack = startStackForFile({ env: { LOG_LEVEL: 'debug' } });

  it.each([
    // [document, message, line, column]
    [`{ viewer("${SECRET}") }`, 'Syntax Error: Expected Name, found String.', 1, 10],
    [`{ viewer { authenticated } } ${SECRET.slice(0, 7)}`, 'Syntax Error: Unexpected Name.', 1, 30],
    [`{ viewer(a: """${SECRET}""" b) }`, 'Syntax Error: Expected ":", found ")".', 1, 38],
    [`{ viewer(a: 12${SECRET}) }`, 'Syntax Error: Invalid number, expected a digit.', 1, 15],
    ['{ viewer ^ }', 'Syntax Error: Unexpected character.', 1, 10],
    [`{ viewer(a: "${SECRET}\\q") }`, 'Syntax Error: Invalid character escape sequence.', 1, 31],
    [`{ viewer(a: "${SECRET}\\uZZZZ") }`, 'Syntax Error: Invalid Unicode escape sequence.', 1, 31],
    [`{ viewer(a: "${SECRET}`, 'Syntax Error: Unterminated string.', 1, 31],
    [`{ viewer(a: "${SECRET}\ud800") }`, 'Syntax Error: Invalid character within String.', 1, 31],
    [`query ($v: String = $${SECRET.slice(0, 7)}) { viewer { authenticated } }`, 'Syntax Error: Unexpected variable in constant value.', 1, 21],
  ])('%j: the kind of mistake and where, not the text', async (query, message, line, column) => {
    const { status, body } = await stack.graphql(query);
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ message, locations: [{ line, column }], extensions: { code: 'GRAPHQL_PARSE_FAILED' } }]);
  });

  it('names no unknown operationName, over POST and GET', async () => {
    const operationName = `Op${SECRET.replace(/\W/g, '')}`;
    const post = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: 'query Me { viewer { authenticated } }', operationName }),
    });
    const posted = (await post.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(post.status).toBe(400);
    expect(posted.errors[0]).toEqual({
      message: 'Unknown operation named in operationName: the document has no operation of that name.',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });
    const get = await fetch(`${stack.url}/graphql?${new URLSearchParams({ query: 'query Me { viewer { authenticated } }', operationName })}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    const got = await get.text();
    expect(get.status).toBe(400);
    expect(got).toContain('OPERATION_RESOLUTION_FAILURE');
    expect(got).not.toContain(operationName);
  });

  it('keeps the debug log as clean as the answers', async () => {
    await stack.graphql(`{ viewer("${SECRET}") }`);
    await stack.graphql(`{ viewer(a: "${SECRET}\\q") }`);
    await fetch(`${stack.url}/graphql?${new URLSearchParams({ query: `{ viewer("${SECRET}") }` })}`, { headers: { 'apollo-require-preflight': 'true' } });
    const logged = stack.logs.join('\n');
    expect(logged).toContain('request completed'); // the log was written
    expect(logged).not.toContain(SECRET);
    expect(logged).not.toContain('Hunter2');
  });
});

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
