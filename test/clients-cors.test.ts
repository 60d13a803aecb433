/**
 * Browser clients without configuration (issue 19): hosted Apollo Sandbox and any localhost page outside
 * production, the headers Apollo's clients and tracing send, CORS_ORIGINS adding to the defaults (and
 * being the whole list in production), `GET /` pointing to the endpoint, and the client's name and
 * version on the request log line. The machine is offline, so hosted Sandbox is tested by what it sends:
 * its preflight and its request with `Origin: https://studio.apollographql.com`. A real browser page is in
 * test/clients-browser.test.ts.
 */
import { ConfigError, loadConfig } from '../src/config.js';
import { CORS_ALLOWED_HEADERS, createOriginCheck, HOSTED_SANDBOX_ORIGIN } from '../src/plugins/cors.js';
import { clientIdentity } from '../src/plugins/request-log.js';
import { startStackForFile, type Stack } from './helpers/stack.js';

const SANDBOX = 'https://studio.apollographql.com';
/** What Apollo Client with `clientAwareness`, Apollo iOS/Kotlin and an instrumented page send. */
const APOLLO_AND_TRACING_HEADERS = [
  'authorization',
  'content-type',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-apollo-operation-name',
  'x-apollo-operation-type',
  'x-apollo-operation-id',
  'apollo-require-preflight',
  'traceparent',
  'tracestate',
  'baggage',
  'x-correlation-id',
  'idempotency-key',
];

function preflight(stack: Stack, origin: string, headers = APOLLO_AND_TRACING_HEADERS) {
  return fetch(`${stack.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers.join(',') },
  });
}

/** A refused preflight: 403, JSON naming CORS_ORIGINS (not the origin), no grant. */
async function expectRefusedPreflight(stack: Stack, origin: string): Promise<void> {
  const response = await preflight(stack, origin);
  expect(response.status).toBe(403);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
  const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]!.message).toContain('CORS_ORIGINS');
  expect(body.errors[0]!.message).not.toContain(new URL(origin).hostname);
  expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
}

/** A simple POST from `origin` runs as it always did, without CORS headers (the browser hides the answer). */
async function expectPlainAnswerWithoutGrant(stack: Stack, origin: string): Promise<void> {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ viewer { authenticated } }' }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
  expect(await response.json()).toEqual({ data: { viewer: { authenticated: false } } });
}

function allowedHeaders(response: Response): string[] {
  return (response.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
}

describe('CORS outside production, no configuration', () => {
  const stack = startStackForFile();

  it("answers hosted Sandbox's preflight with its origin and every header it and Apollo's clients send", async () => {
    const response = await preflight(stack, SANDBOX);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(SANDBOX);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowedHeaders(response)).toEqual(expect.arrayContaining(APOLLO_AND_TRACING_HEADERS));
  });

  it('lets hosted Sandbox reach this loopback gateway where the browser asks first (Private Network Access)', async () => {
    const ask = (origin: string) =>
      fetch(`${stack.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-private-network': 'true' },
      });
    expect((await ask(SANDBOX)).headers.get('access-control-allow-private-network')).toBe('true');
    expect((await ask('https://evil.example')).headers.get('access-control-allow-private-network')).toBeNull();
  });

  it('runs a query sent from hosted Sandbox, readable by the page (origin granted, correlation id exposed)', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: {
        origin: SANDBOX,
        'content-type': 'application/json',
        authorization: `Bearer ${stack.token}`,
        'apollographql-client-name': 'Apollo Studio',
      },
      body: JSON.stringify({ query: '{ viewer { authenticated } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SANDBOX);
    expect(response.headers.get('access-control-expose-headers')).toMatch(/x-correlation-id/);
    expect(await response.json()).toEqual({ data: { viewer: { authenticated: true } } });
  });

  it('allows a localhost page on any port, with the client-awareness headers Apollo Client adds', async () => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'https://localhost']) {
      const response = await preflight(stack, origin, ['content-type', 'apollographql-client-name', 'apollographql-client-version']);
      expect({ origin, allowed: response.headers.get('access-control-allow-origin') }).toEqual({ origin, allowed: origin });
    }
  });

  it('still refuses other origins', async () => {
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'https://studio.apollographql.com.evil.example']) {
      expect((await preflight(stack, origin)).headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('answers a refused preflight 403 with a JSON message naming CORS_ORIGINS, not a 404 for a wrong URL', async () => {
    await expectRefusedPreflight(stack, 'https://portal.fabrikam.example');
  });

  it("answers a refused origin's simple request as before: no CORS headers, so the page cannot read it", async () => {
    await expectPlainAnswerWithoutGrant(stack, 'https://portal.fabrikam.example');
  });

  it('points GET / to /graphql: a browser is redirected to the explorer, other clients get JSON', async () => {
    const browser = await fetch(`${stack.url}/`, { headers: { accept: 'text/html,*/*;q=0.8' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/graphql');
    const other = await fetch(`${stack.url}/`);
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ graphql: '/graphql' });
  });

  it("puts the client's name and version (Apollo client awareness) on the request log line", async () => {
    const { status, headers } = await stack.graphql('{ viewer { authenticated } }', undefined, {
      headers: { 'apollographql-client-name': 'partner-portal-web', 'apollographql-client-version': '2.4.1' },
    });
    expect(status).toBe(200);
    const id = headers.get('x-correlation-id');
    const line = stack.logs.map((l) => JSON.parse(l)).find((l) => l.correlationId === id && l.msg === 'request completed');
    expect(line).toMatchObject({ clientName: 'partner-portal-web', clientVersion: '2.4.1' });
  });
});

describe('CORS_ORIGINS outside production', () => {
  const stack = startStackForFile({ env: { CORS_ORIGINS: 'https://app.contoso.example' } });

  it('adds to the defaults instead of replacing them', async () => {
    for (const origin of ['https://app.contoso.example', SANDBOX, 'http://localhost:5173']) {
      expect({ origin, allowed: (await preflight(stack, origin)).headers.get('access-control-allow-origin') }).toEqual({ origin, allowed: origin });
    }
    expect((await preflight(stack, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS in production', () => {
  const stack = startStackForFile({ env: { NODE_ENV: 'production', UPSTREAM: 'microsoft', CORS_ORIGINS: 'https://app.contoso.example' } });

  it('grants CORS_ORIGINS and nothing else: neither hosted Sandbox nor localhost', async () => {
    const granted = await preflight(stack, 'https://app.contoso.example');
    expect(granted.headers.get('access-control-allow-origin')).toBe('https://app.contoso.example');
    expect(allowedHeaders(granted)).toEqual(expect.arrayContaining(APOLLO_AND_TRACING_HEADERS));
    expect((await preflight(stack, SANDBOX)).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(stack, 'http://localhost:5173')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of an origin missing from CORS_ORIGINS 403 naming CORS_ORIGINS; its simple requests are unchanged', async () => {
    await expectRefusedPreflight(stack, SANDBOX);
    await expectRefusedPreflight(stack, 'https://other.contoso.example');
    await expectPlainAnswerWithoutGrant(stack, 'https://other.contoso.example');
    // A request without Origin (curl, mobile apps) is no preflight.
    expect((await fetch(`${stack.url}/graphql`, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } })).status).not.toBe(403);
  });

  it('answers GET / 404', async () => {
    expect((await fetch(`${stack.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${stack.url}/`)).status).toBe(404);
  });
});

describe('origin policy and client identity (units)', () => {
  it('allows localhost and hosted Sandbox outside production, only the list in production', () => {
    const dev = createOriginCheck({ origins: ['https://app.contoso.example'] });
    expect([HOSTED_SANDBOX_ORIGIN, 'http://localhost', 'https://app.contoso.example'].every(dev)).toBe(true);
    expect(dev('null')).toBe(false);
    const production = createOriginCheck({ production: true, origins: ['https://app.contoso.example'] });
    expect(production('https://app.contoso.example')).toBe(true);
    expect(production(HOSTED_SANDBOX_ORIGIN)).toBe(false);
    expect(production('http://localhost:3000')).toBe(false);
    expect(createOriginCheck({ production: true })('https://app.contoso.example')).toBe(false);
  });

  it('allows every header the issue names', () => {
    expect(CORS_ALLOWED_HEADERS).toEqual(expect.arrayContaining(APOLLO_AND_TRACING_HEADERS));
  });

  it('keeps the client name and version short and printable', () => {
    expect(clientIdentity({})).toEqual({ clientName: undefined, clientVersion: undefined });
    expect(clientIdentity({ 'apollographql-client-name': ' web\n\u0000app\u00e9 ', 'apollographql-client-version': 'x'.repeat(500) })).toEqual({
      clientName: 'webapp',
      clientVersion: 'x'.repeat(64),
    });
    expect(clientIdentity({ 'apollographql-client-name': '\u0007' }).clientName).toBeUndefined();
  });

  it('refuses a CORS_ORIGINS entry that is not an origin, naming the variable', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.contoso.example/, http://localhost:3000' }).corsOrigins).toEqual([
      'https://app.contoso.example',
      'http://localhost:3000',
    ]);
    for (const bad of ['app.contoso.example', 'https://app.contoso.example/path', 'https://app.contoso.example:443']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(/^CORS_ORIGINS must list origins/);
    }
  });
});
