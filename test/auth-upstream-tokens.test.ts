import { createServer, type Server } from 'node:http';
import type { INetworkModule, NetworkResponse } from '@azure/msal-node';
import { loadConfig, type Config } from '../src/config.js';
import { AuthenticationError, ForbiddenError, GatewayError } from '../src/errors.js';
import { TokenExchangeFailedError, TokenExchangeUnavailableError } from '../src/errors.js';
import { expandPermissions, type Principal, type PrincipalKind } from '../src/auth/principal.js';
import { createUpstreamTokenSource, type UpstreamTokenSourceOptions } from '../src/auth/upstream-tokens.js';
import { listenOnLoopback, type LoopbackServer } from './helpers/loopback.js';

const TENANT_A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const TENANT_B = '0b5e6a1c-2d3f-4a5b-8c7d-9e0f1a2b3c4d';

interface TokenRequest {
  readonly path: string;
  readonly tenant: string;
  readonly host: string;
  readonly form: URLSearchParams;
}

type Behaviour = 'ok' | 'invalid_grant' | 'consent' | 'invalid_client' | 'down';

/**
 * A fake Entra token endpoint: `POST /{tenant}/oauth2/v2.0/token` answers a fresh access token per call
 * (or the error `behaviour` asks for); `GET /{tenant}/v2.0/.well-known/openid-configuration` answers the
 * OpenID configuration of the host the client meant (`x-original-host`, set by the test network client).
 */
class FakeTokenEndpoint {
  behaviour: Behaviour = 'ok';
  expiresIn = 3600;
  readonly requests: TokenRequest[] = [];
  readonly gets: string[] = [];
  url = '';
  #server: Server | undefined;
  #listening: LoopbackServer | undefined;
  #counter = 0;

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const path = new URL(request.url ?? '/', 'http://x').pathname;
        const host = String(request.headers['x-original-host'] ?? request.headers.host);
        const json = (status: number, body: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(body));
        };
        if (request.method === 'GET') {
          this.gets.push(path);
          const tenant = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path)?.[1];
          if (!tenant) return json(404, {});
          const base = `https://${host}/${tenant}`;
          return json(200, {
            issuer: `${base}/v2.0`,
            token_endpoint: `${base}/oauth2/v2.0/token`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            jwks_uri: `https://${host}/${tenant}/discovery/v2.0/keys`,
          });
        }
        const tenant = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path)?.[1];
        if (!tenant) return json(404, {});
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        this.requests.push({ path, tenant, host, form });
        switch (this.behaviour) {
          case 'down':
            response.writeHead(503, { 'content-type': 'text/html' });
            return response.end('<html>Service Unavailable</html>');
          case 'invalid_grant':
            // Entra's description quotes details; ours quotes the assertion to prove it never leaks.
            return json(400, {
              error: 'invalid_grant',
              error_description: `AADSTS50013: Assertion failed signature validation. Assertion: ${form.get('assertion')}`,
              error_codes: [50013],
              correlation_id: '11111111-2222-3333-4444-555555555555',
            });
          case 'consent':
            return json(400, {
              error: 'invalid_grant',
              error_description: 'AADSTS65001: The user or administrator has not consented to use the application.',
              error_codes: [65001],
              suberror: 'consent_required',
            });
          case 'invalid_client':
            return json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
          case 'ok': {
            const n = ++this.#counter;
            return json(200, {
              token_type: 'Bearer',
              access_token: `upstream-${form.get('grant_type') === 'client_credentials' ? 'app' : 'obo'}-${n}`,
              expires_in: this.expiresIn,
              ext_expires_in: this.expiresIn,
              scope: form.get('scope'),
            });
          }
        }
      });
    });
    this.#listening = await listenOnLoopback(this.#server);
    this.url = this.#listening.url;
    return this;
  }

  close(): Promise<void> {
    return this.#listening!.close();
  }
}

let callerCounter = 0;
function caller(kind: PrincipalKind = 'delegated', tenantId = TENANT_A): Principal {
  const n = ++callerCounter;
  const principal = {
    tenantId,
    objectId: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    kind,
    permissions: expandPermissions(['ExternalUserProfile.ReadWrite.All']),
    personalAccount: false,
    expiresAt: Date.now() + 3600_000,
  };
  // Looks like a JWT, unique per caller, so leaks are easy to spot.
  Object.defineProperty(principal, 'token', { value: `eyJhbGciOiJSUzI1NiJ9.caller-${n}-secret.sig${n}`, enumerable: false });
  return principal as Principal;
}

function configFor(env: Record<string, string>): Config {
  return loadConfig({ AZURE_CLIENT_ID: 'gateway-client', AZURE_CLIENT_SECRET: 'gateway-secret', ...env });
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe('upstream tokens: on-behalf-of against a plain-http authority (emulator mode)', () => {
  let endpoint: FakeTokenEndpoint;
  let config: Config;
  const source = (options?: UpstreamTokenSourceOptions) => createUpstreamTokenSource(config, options);

  beforeAll(async () => {
    endpoint = await new FakeTokenEndpoint().start();
    config = configFor({ AZURE_AUTHORITY: endpoint.url });
  });
  afterAll(() => endpoint.close());
  beforeEach(() => {
    endpoint.behaviour = 'ok';
    endpoint.expiresIn = 3600;
    endpoint.requests.length = 0;
    endpoint.gets.length = 0;
  });

  it("exchanges the caller's token on behalf of it, per upstream scope, in the caller's tenant", async () => {
    const tokens = source();
    const principal = caller();
    const graph = await tokens.forCaller(principal)('graph');
    const partnerCenter = await tokens.forCaller(principal)('partner-center');
    expect(graph).toMatch(/^upstream-obo-/);
    expect(partnerCenter).not.toBe(graph);
    expect(endpoint.requests).toHaveLength(2);
    const [g, pc] = endpoint.requests;
    expect(g!.tenant).toBe(TENANT_A);
    expect(g!.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(g!.form.get('requested_token_use')).toBe('on_behalf_of');
    expect(g!.form.get('assertion')).toBe(principal.token);
    expect(g!.form.get('client_id')).toBe('gateway-client');
    expect(g!.form.get('client_secret')).toBe('gateway-secret');
    expect(g!.form.get('scope')!.split(' ')).toContain('https://graph.microsoft.com/.default');
    expect(pc!.form.get('scope')!.split(' ')).toContain('https://api.partnercenter.microsoft.com/user_impersonation');
    // Everything went to the configured authority; msal asked the internet nothing.
    expect(endpoint.gets).toEqual([]);
  });

  it('serves the second ask from the cache (one token request)', async () => {
    const tokens = source();
    const principal = caller();
    const first = await tokens.forCaller(principal)('graph');
    const second = await tokens.forCaller(principal)('graph');
    expect(second).toBe(first);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('shares one exchange between concurrent asks of one caller', async () => {
    const tokens = source();
    const principal = caller();
    const results = await Promise.all([1, 2, 3, 4].map(() => tokens.forCaller(principal)('partner-center')));
    expect(new Set(results).size).toBe(1);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('gives distinct callers distinct tokens, even asked at the same time', async () => {
    const tokens = source();
    const callers = [caller(), caller(), caller('delegated', TENANT_B)];
    const results = await Promise.all(callers.map((p) => tokens.forCaller(p)('graph')));
    expect(new Set(results).size).toBe(3);
    expect(endpoint.requests.map((r) => r.form.get('assertion')).sort()).toEqual(callers.map((p) => p.token).sort());
    expect(endpoint.requests.find((r) => r.form.get('assertion') === callers[2]!.token)!.tenant).toBe(TENANT_B);
    // And each keeps getting its own from the cache.
    for (const [i, p] of callers.entries()) expect(await tokens.forCaller(p)('graph')).toBe(results[i]);
    expect(endpoint.requests).toHaveLength(3);
  });

  it('exchanges again when the same user comes with a new token', async () => {
    const tokens = source();
    const principal = caller();
    const renewed = { ...principal } as Principal;
    Object.defineProperty(renewed, 'token', { value: `${principal.token}-renewed`, enumerable: false });
    await tokens.forCaller(principal)('graph');
    await tokens.forCaller(renewed)('graph');
    expect(endpoint.requests).toHaveLength(2);
  });

  it('refreshes a cached token five minutes before it expires', async () => {
    let now = Date.now();
    const tokens = source({ clock: () => now });
    const principal = caller();
    const first = await tokens.forCaller(principal)('graph');
    now += 54 * 60_000;
    expect(await tokens.forCaller(principal)('graph')).toBe(first);
    now += 2 * 60_000;
    expect(await tokens.forCaller(principal)('graph')).not.toBe(first);
    expect(endpoint.requests).toHaveLength(2);
  });

  it('uses client credentials in the caller tenant for an app-only caller on Graph', async () => {
    const tokens = source();
    const app = caller('application', TENANT_B);
    const token = await tokens.forCaller(app)('graph');
    expect(token).toMatch(/^upstream-app-/);
    expect(endpoint.requests).toHaveLength(1);
    const [request] = endpoint.requests;
    expect(request!.tenant).toBe(TENANT_B);
    expect(request!.form.get('grant_type')).toBe('client_credentials');
    expect(request!.form.get('assertion')).toBeNull();
    expect(request!.form.get('scope')!.split(' ')).toContain('https://graph.microsoft.com/.default');
  });

  it('refuses an app-only caller on Partner Center with FORBIDDEN, without calling out', async () => {
    const error = await failure(source().forCaller(caller('application'))('partner-center'));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.code).toBe('FORBIDDEN');
    expect(endpoint.requests).toHaveLength(0);
  });

  it("maps invalid_grant to UNAUTHENTICATED without leaking the caller's token", async () => {
    endpoint.behaviour = 'invalid_grant';
    const principal = caller();
    const error = await failure(source().forCaller(principal)('graph'));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/refused the caller's token: invalid_grant/);
    expect(error.message).toContain('AADSTS50013');
    expect(JSON.stringify({ message: error.message, stack: error.stack, extensions: error.extensions() })).not.toContain(principal.token);
  });

  it('maps a consent error to UNAUTHENTICATED', async () => {
    endpoint.behaviour = 'consent';
    const error = await failure(source().forCaller(caller())('partner-center'));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toContain('consent_required');
  });

  it("maps the gateway's own bad credentials to UPSTREAM_ERROR, not the caller's fault", async () => {
    endpoint.behaviour = 'invalid_client';
    const error = await failure(source().forCaller(caller())('graph'));
    expect(error).toBeInstanceOf(TokenExchangeFailedError);
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.message).toContain('invalid_client');
  });

  it('maps a 503 token endpoint to UPSTREAM_UNAVAILABLE, and recovers at once when it is back', async () => {
    const tokens = source();
    const principal = caller();
    endpoint.behaviour = 'down';
    const error = await failure(tokens.forCaller(principal)('graph'));
    expect(error).toBeInstanceOf(TokenExchangeUnavailableError);
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.message).not.toContain(principal.token);
    endpoint.behaviour = 'ok';
    // msal's own throttling would refuse this for a minute had it seen the 503.
    await expect(tokens.forCaller(principal)('graph')).resolves.toMatch(/^upstream-obo-/);
  });

  it('maps an unreachable token endpoint to UPSTREAM_UNAVAILABLE', async () => {
    const tokens = createUpstreamTokenSource(configFor({ AZURE_AUTHORITY: 'http://127.0.0.1:9' }), { timeoutMs: 1000 });
    const principal = caller();
    const error = await failure(tokens.forCaller(principal)('graph'));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.message).not.toContain(principal.token);
  });

  it('refuses to start on-behalf-of without client credentials', () => {
    expect(() => createUpstreamTokenSource(loadConfig({}))).toThrow(/AZURE_CLIENT_ID/);
  });
});

describe("upstream tokens: on-behalf-of against Microsoft's authority, msal's network layer pointed at a local server", () => {
  let endpoint: FakeTokenEndpoint;
  const seen: string[] = [];

  /** Routes every https call msal makes to the fake endpoint, remembering the host it meant. */
  const routingClient = (): INetworkModule => {
    const send = async <T>(method: 'GET' | 'POST', url: string, options?: { headers?: Record<string, string>; body?: string }): Promise<NetworkResponse<T>> => {
      seen.push(`${method} ${url}`);
      const target = new URL(url);
      const response = await fetch(`${endpoint.url}${target.pathname}${target.search}`, {
        method,
        headers: { ...options?.headers, 'x-original-host': target.host },
        body: method === 'POST' ? options?.body : undefined,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((v, k) => (headers[k] = v));
      const text = await response.text();
      return { status: response.status, headers, body: (text.startsWith('{') ? JSON.parse(text) : {}) as T };
    };
    return { sendGetRequestAsync: (url, options) => send('GET', url, options), sendPostRequestAsync: (url, options) => send('POST', url, options) };
  };

  beforeAll(async () => {
    endpoint = await new FakeTokenEndpoint().start();
  });
  afterAll(() => endpoint.close());
  beforeEach(() => {
    endpoint.behaviour = 'ok';
    endpoint.requests.length = 0;
    seen.length = 0;
  });

  it('global cloud: posts to login.microsoftonline.com/{tenant}, caches the second ask', async () => {
    const tokens = createUpstreamTokenSource(configFor({}), { msalNetworkClient: routingClient() });
    const principal = caller();
    const first = await tokens.forCaller(principal)('partner-center');
    expect(await tokens.forCaller(principal)('partner-center')).toBe(first);
    expect(endpoint.requests).toHaveLength(1);
    expect(seen).toEqual([expect.stringMatching(new RegExp(`^POST https://login\\.microsoftonline\\.com/${TENANT_A}/oauth2/v2\\.0/token`))]);
    expect(endpoint.requests[0]!.form.get('scope')!.split(' ')).toContain('https://api.partnercenter.microsoft.com/user_impersonation');
  });

  it("china cloud: uses the cloud's authority and resources", async () => {
    const tokens = createUpstreamTokenSource(configFor({ CLOUD: 'china' }), { msalNetworkClient: routingClient() });
    const principal = caller();
    await tokens.forCaller(principal)('partner-center');
    await tokens.forCaller(principal)('graph');
    expect(seen.every((line) => /https:\/\/login\.(chinacloudapi\.cn|partner\.microsoftonline\.cn)\//.test(line))).toBe(true);
    const scopes = endpoint.requests.map((r) => r.form.get('scope')!.split(' '));
    expect(scopes[0]).toContain('https://partner.partnercenterapi.microsoftonline.cn/user_impersonation');
    expect(scopes[1]).toContain('https://microsoftgraph.chinacloudapi.cn/.default');
  });

  it('maps a 503 from a supplied network client to UPSTREAM_UNAVAILABLE', async () => {
    endpoint.behaviour = 'down';
    const error = await failure(createUpstreamTokenSource(configFor({}), { msalNetworkClient: routingClient() }).forCaller(caller())('graph'));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('upstream tokens: passthrough', () => {
  const tokens = createUpstreamTokenSource(loadConfig({ UPSTREAM_AUTH: 'passthrough' }));

  it("forwards the caller's own token to both upstreams", async () => {
    const principal = caller();
    await expect(tokens.forCaller(principal)('graph')).resolves.toBe(principal.token);
    await expect(tokens.forCaller(principal)('partner-center')).resolves.toBe(principal.token);
  });

  it('still refuses app-only callers on Partner Center', async () => {
    const error = await failure(tokens.forCaller(caller('application'))('partner-center'));
    expect(error.code).toBe('FORBIDDEN');
  });
});
