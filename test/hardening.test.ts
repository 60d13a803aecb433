import { getIntrospectionQuery } from 'graphql';
import { seedData } from '../src/emulator/index.js';
import { startStack, startStackForFile, type Stack } from './helpers/stack.js';

/** Requests the gateway sent to Partner Center or Graph (token-issuer traffic is not an upstream call). */
const upstreamCalls = (stack: Stack) => stack.emulator.requests().filter((r) => r.service === 'partner-center' || r.service === 'graph');

const aliases = (n: number, field: string) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

/** `depth` nested selection sets: the support profile, then inline fragments on it. */
function deepQuery(depth: number): string {
  let inner = 'id';
  for (let i = 2; i < depth; i++) inner = `... on SupportProfile { ${inner} }`;
  return `query { supportProfile { ${inner} } }`;
}

describe('hostile queries (default limits)', () => {
  const stack = startStackForFile();
  beforeEach(() => stack.emulator.clearRequests());

  /** Sends `query`, expects a refusal with `code` and no upstream call, and returns the error message. */
  async function expectRefused(query: string, status: number, code: string): Promise<string> {
    const { status: actual, body } = await stack.graphql(query);
    expect(actual).toBe(status);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe(code);
    expect(upstreamCalls(stack)).toEqual([]);
    return body.errors!.map((e) => e.message).join('\n');
  }

  it('refuses 500 aliases before execution', async () => {
    const message = await expectRefused(aliases(500, '__typename'), 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(message).toMatch(/alias/i);
    expect(message).not.toMatch(/^Syntax Error/);
  });

  it('refuses 500 aliased upstream reads (over the token limit) before parsing them all', async () => {
    await expectRefused(aliases(500, 'supportProfile { id email }'), 400, 'GRAPHQL_PARSE_FAILED');
  });

  it('refuses a depth-20 query before execution', async () => {
    expect(await expectRefused(deepQuery(20), 400, 'GRAPHQL_VALIDATION_FAILED')).toMatch(/depth limit of 10 exceeded, found 20/);
  });

  it('refuses a depth-20 introspection of __type (only __schema is exempt)', async () => {
    let inner = 'name';
    for (let i = 0; i < 17; i++) inner = `ofType { ${inner} }`;
    await expectRefused(`{ __type(name: "Query") { fields { type { ${inner} } } } }`, 400, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a query over the cost limit', async () => {
    const query = 'query { externalUserProfiles(first: 1000) { nodes { id displayName companyName jobTitle address { city street } } } }';
    expect(await expectRefused(query, 400, 'GRAPHQL_VALIDATION_FAILED')).toMatch(/cost limit of 5000 exceeded/i);
  });

  it('refuses more than 50 directives', async () => {
    const query = `query { viewer { ${Array.from({ length: 51 }, () => 'authenticated @include(if: true)').join(' ')} } }`;
    expect(await expectRefused(query, 400, 'GRAPHQL_VALIDATION_FAILED')).toMatch(/directives/i);
  });

  it('refuses a document over 2000 tokens with GRAPHQL_PARSE_FAILED', async () => {
    const query = `query { viewer { ${Array.from({ length: 2100 }, () => 'authenticated').join(' ')} } }`;
    expect(await expectRefused(query, 400, 'GRAPHQL_PARSE_FAILED')).toMatch(/2000 tokens/);
  });

  it('answers a 1 MB body 413 without reading it into a GraphQL request', async () => {
    const padding = 'x'.repeat(1024 * 1024);
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: `{ supportProfile { id } } # ${padding}` }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0]!.message).toContain('524288');
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('refuses batched HTTP requests', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify([{ query: '{ supportProfile { id } }' }, { query: '{ supportProfile { email } }' }]),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('lets the full introspection query through (what the explorer and codegen send)', async () => {
    const { status, body } = await stack.graphql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.__schema.queryType.name).toBe('Query');
  });

  it('lets the README example operations through', async () => {
    const customerId = seedData.customers[0]!.id;
    const users = await stack.graphql(
      'query Users($customerId: ID!, $after: String) { customerUsers(customerId: $customerId, first: 20, after: $after) { nodes { id displayName userPrincipalName state } pageInfo { hasNextPage endCursor } } }',
      { customerId },
    );
    expect(users.body.errors).toBeUndefined();
    const profiles = await stack.graphql('query Profiles { externalUserProfiles(first: 10) { nodes { id displayName companyName } pageInfo { hasNextPage endCursor } } }');
    expect(profiles.body.errors).toBeUndefined();
  });

  it('refuses a mutation over GET (405) without running it', async () => {
    const query = encodeURIComponent('mutation { updateSupportProfile(input: { email: "get@contoso.example" }) { id } }');
    const response = await fetch(`${stack.url}/graphql?query=${query}`, {
      headers: { authorization: `Bearer ${stack.token}`, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('blocks a GET without a preflight-forcing header (CSRF prevention)', async () => {
    const response = await fetch(`${stack.url}/graphql?query=${encodeURIComponent('{ supportProfile { id } }')}`, {
      headers: { authorization: `Bearer ${stack.token}` },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/Cross-Site Request Forgery/);
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('blocks a simple text/plain POST (CSRF prevention)', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: 'mutation { updateSupportProfile(input: { email: "csrf@contoso.example" }) { id } }' }),
    });
    expect(response.status).toBe(400);
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('answers a CORS preflight from a localhost page outside production', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization.*content-type.*idempotency-key/);
  });

  it('gives no CORS grant to another origin', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps field suggestions outside production', async () => {
    const { body } = await stack.graphql('{ viewr { authenticated } }');
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "viewer"/);
  });
});

describe('hardening in production', () => {
  const stack = startStackForFile({ env: { NODE_ENV: 'production', UPSTREAM: 'microsoft', CORS_ORIGINS: 'https://app.contoso.example' } });

  it('serves no explorer: a browser on /graphql is told there is none in production, and how to explore the API', async () => {
    const response = await fetch(`${stack.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await response.text();
    expect(text).not.toMatch(/<html/i);
    expect(text).not.toMatch(/CSRF|preflight request/i); // not Apollo's CSRF refusal
    expect(text).toMatch(/^There is no GraphQL explorer in production\./);
    expect(text).toMatch(/npm start/);
    expect(text).toMatch(/CORS_ORIGINS must list https:\/\/studio\.apollographql\.com and INTROSPECTION=true/);
    const asset = await fetch(`${stack.url}/explorer/ruru.js`);
    expect(asset.status).toBe(404);
  });

  it('still answers GraphQL clients on GET /graphql (the note is for browsers only)', async () => {
    const query = encodeURIComponent('{ viewer { authenticated } }');
    const response = await fetch(`${stack.url}/graphql?query=${query}`, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { authenticated: false } } });
  });

  it('refuses introspection, naming the setting that allows it', async () => {
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Query") { name } }']) {
      const { status, body } = await stack.graphql(query);
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.errors?.[0]?.message).toMatch(/INTROSPECTION=true/);
      expect(body.errors?.[0]?.message).not.toMatch(/ApolloServer|introspection: true/);
    }
    // __typename is not introspection of the schema.
    expect((await stack.graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  });

  it('hides field suggestions', async () => {
    const { body } = await stack.graphql('{ viewr { authenticated } }');
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors?.[0]?.message).not.toMatch(/viewer|Did you mean/);
  });

  it('hides enum value suggestions in variable errors', async () => {
    const { body } = await stack.graphql(
      'mutation ($c: ID!, $u: ID!, $s: CustomerUserState) { updateCustomerUser(customerId: $c, userId: $u, input: { state: $s }) { id } }',
      { c: seedData.customers[0]!.id, u: seedData.customers[0]!.userIds[0], s: 'ACTIV' },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(body)).not.toMatch(/Did you mean/);
  });

  it('never echoes an input value in a variable or literal error: a password typo names the path, not the password', async () => {
    const secret = 'S3cret-Passw0rd!';
    const c = seedData.customers[0]!.id;
    const u = seedData.customers[0]!.userIds[0];
    const update = 'mutation ($c: ID!, $u: ID!, $i: UpdateCustomerUserInput!) { updateCustomerUser(customerId: $c, userId: $u, input: $i) { id } }';
    const typo = await stack.graphql(update, { c, u, i: { passwordProfile: { password: secret, forceChangePasword: false } } });
    expect(typo.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(typo.body.errors?.[0]?.message).toMatch(/^Variable "\$i" got an invalid value at "i\.passwordProfile"; Field "forceChangePasword" is not defined by type "PasswordProfileInput"\.$/);
    expect(JSON.stringify(typo.body)).not.toContain(secret);

    for (const i of [{ passwordProfile: { password: 4242424242 } }, { state: secret }, { passwordProfile: [secret] }, { displayName: { secret } }]) {
      const { body } = await stack.graphql(update, { c, u, i });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/^Variable "\$i" got an invalid value at "i\.\w+(\.\w+)?"; /);
      expect(JSON.stringify(body)).not.toMatch(/S3cret|4242424242/);
    }
    const topLevel = await stack.graphql(update, { c: { secret }, u, i: { firstName: 'x' } });
    expect(topLevel.body.errors?.[0]?.message).toBe('Variable "$c" got an invalid value; Expected type "ID".');

    // Literals in the document are input values too.
    const literal = await stack.graphql(`mutation { updateCustomerUser(customerId: "${c}", userId: "${u}", input: { passwordProfile: { password: 4242424242 } }) { id } }`);
    expect(literal.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(literal.body.errors?.[0]?.message).toBe('Expected type "String".');
    expect(JSON.stringify(literal.body)).not.toContain('4242424242');
    const notAnObject = await stack.graphql(`mutation { updateCustomerUser(customerId: "${c}", userId: "${u}", input: "${secret}") { id } }`);
    expect(notAnObject.body.errors?.[0]?.message).toBe('Expected value of type "UpdateCustomerUserInput!".');
    const enumLiteral = await stack.graphql(`mutation { updateCustomerUser(customerId: "${c}", userId: "${u}", input: { state: "${secret}" }) { id } }`);
    expect(enumLiteral.body.errors?.[0]?.message).toBe('Expected a value of enum "CustomerUserState".');
  });

  it("never sends an upstream's error description to the client: a message the gateway wrote, the text only in the log, redacted", async () => {
    const secret = 'S3cret-Passw0rd!';
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const description = `Invalid property: password=${secret} with Bearer ${jwt} at Microsoft.Partner.Internal.ProfileValidator.Check`;
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 400, body: { code: 3000, description, data: [], source: 'PartnerFD' } });
    const known = await stack.graphql('{ supportProfile { id } }');
    const [error] = known.body.errors ?? [];
    expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', upstream: { service: 'partner-center', status: 400, code: '3000' } });
    expect(error?.message).toBe('Partner Center refused a property value of the request');
    expect(JSON.stringify(known.body)).not.toMatch(/S3cret|eyJ|Microsoft\.Partner\.Internal|Invalid property/);
    const logged = stack.logs.join('\n');
    expect(logged).toContain('Microsoft.Partner.Internal.ProfileValidator');
    expect(logged).not.toMatch(/S3cret|eyJhbGciOiJSUzI1NiJ9/);

    // An upstream code the gateway does not know: the message is written from the status.
    stack.emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 409, body: { code: 987654, description: `Conflict in Internal.Store for ${secret}` } });
    const unknown = await stack.graphql('{ supportProfile { id } }');
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'Partner Center answered 409 Conflict', extensions: { code: 'CONFLICT', upstream: { code: '987654' } } });
    expect(JSON.stringify(unknown.body)).not.toMatch(/S3cret|Internal\.Store/);
  });

  it('grants CORS only to CORS_ORIGINS', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight('https://app.contoso.example')).headers.get('access-control-allow-origin')).toBe('https://app.contoso.example');
    expect((await preflight('http://localhost:3000')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still answers queries', async () => {
    const { status, body } = await stack.graphql('{ viewer { authenticated } }');
    expect(status).toBe(200);
    expect(body.data?.viewer.authenticated).toBe(true);
  });
});

describe('upstream answers over UPSTREAM_MAX_RESPONSE_BYTES', () => {
  it('are refused UPSTREAM_ERROR', async () => {
    const stack = await startStack({ env: { UPSTREAM_MAX_RESPONSE_BYTES: '2048' } });
    try {
      const customer = seedData.customers[0]!;
      const list = 'query($c: ID!) { customerUsers(customerId: $c, first: 100) { nodes { id } } }';
      const { body } = await stack.graphql(list, { c: customer.id });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', upstream: { service: 'partner-center', status: 200 } });
      // A small answer still passes.
      expect((await stack.graphql('{ supportProfile { id } }')).body.errors).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});

describe('introspection in production with INTROSPECTION=true', () => {
  it('is allowed', async () => {
    const stack = await startStack({ env: { NODE_ENV: 'production', UPSTREAM: 'microsoft', INTROSPECTION: 'true' } });
    try {
      const { status, body } = await stack.graphql('{ __schema { queryType { name } } }');
      expect(status).toBe(200);
      expect(body.data?.__schema.queryType.name).toBe('Query');
    } finally {
      await stack.close();
    }
  });
});
