import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findFieldsWithoutPermission, findPermissionsWithoutField } from '../src/auth/auth-checker.js';
import { buildGatewaySchema, printGatewaySchema } from '../src/schema.js';
import { startStack, type Stack } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('foundation', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

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

  it('answers malformed GraphQL with HTTP 400 and a GraphQL error body', async () => {
    const response = await stack.graphql('{ viewer { authenticated ');
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('answers viewer without a token as not authenticated', async () => {
    const response = await stack.graphql('{ viewer { authenticated permissions personalAccount kind } }', undefined, { token: null });
    expect(response.body).toEqual({ data: { viewer: { authenticated: false, permissions: [], personalAccount: false, kind: null } } });
  });

  it('answers viewer with the caller, implied Read permissions included', async () => {
    const response = await stack.graphql('{ viewer { authenticated kind tenantId permissions } }');
    expect(response.body.data?.viewer).toMatchObject({ authenticated: true, kind: 'DELEGATED' });
    expect(response.body.data?.viewer.permissions).toEqual(
      expect.arrayContaining(['SupportProfile.Read', 'SupportProfile.ReadWrite', 'ExternalUserProfile.Read.All']),
    );
  });

  it('refuses an invalid token with UNAUTHENTICATED, even for viewer', async () => {
    const response = await stack.graphql('{ viewer { authenticated } }', undefined, { token: 'not.a.jwt' });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('writes one log line per request with operation, status and correlation id, and no credentials', async () => {
    const id = '0f6f1f3e-8a7b-4c2d-9e1f-2a3b4c5d6e7f';
    await stack.graphql('query WhoAmI { viewer { authenticated } }', undefined, { headers: { 'x-correlation-id': id } });
    const lines = stack.logs.map((l) => JSON.parse(l)).filter((l) => l.correlationId === id && l.msg === 'request completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ operationName: 'WhoAmI', operationType: 'query', status: 200, path: '/graphql' });
    expect(stack.logs.join('\n')).not.toContain(stack.token);
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

describe('configuration errors', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['dist/src/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('stops on a bad CLOUD with one line naming the variable and the allowed values, exit 1', () => {
    const result = run({ CLOUD: 'mars' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Configuration error: CLOUD must be one of global, usgov, usgov-dod, china');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('requires UPSTREAM to be explicit in production', () => {
    const result = run({ NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('UPSTREAM must be set explicitly in production');
  });

  it('names a non-numeric PORT', () => {
    const result = run({ PORT: 'eighty' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Configuration error: PORT must be a whole number from 0 to 65535');
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests before closing, and then closes (keep-alive connections included)', async () => {
    const stack = await startStack();
    try {
      stack.emulator.setLatency(300);
      const inFlight = stack.graphql('{ supportProfile { id } }');
      // Close once the request has reached the upstream, i.e. is really in flight.
      // (The emulator records a request once it has answered: the JWKS fetch comes before the slow upstream call.)
      while (stack.emulator.requests({ service: 'identity' }).length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      const closed = stack.gateway.close();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      await closed;
      await expect(fetch(`${stack.url}/healthz`)).rejects.toThrow();
    } finally {
      await stack.emulator.close();
    }
  });
});

describe('process lifecycle', () => {
  it('starts on the emulator with no configuration, serves viewer, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: '0', EMULATOR_PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      while (!/listening on (http:\/\/\S+)/.test(stdout)) {
        await Promise.race([once(child.stdout, 'data'), exited.then(() => Promise.reject(new Error(`exited early: ${stdout}`)))]);
      }
      const url = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
      const token = /"Authorization": "Bearer ([^"]+)"/.exec(stdout)?.[1];
      expect(token).toBeDefined();
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { authenticated } supportProfile { id } }' }),
      });
      const body = (await response.json()) as { data: { viewer: { authenticated: boolean }; supportProfile: { id: string } } };
      expect(body.data.viewer.authenticated).toBe(true);
      expect(body.data.supportProfile.id).toBeTruthy();
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code).toBe(0);
  });
});

describe('schema', () => {
  it('matches the committed schema/schema.graphql (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printGatewaySchema(await buildGatewaySchema())).toBe(committed);
  });

  it('has a permission-table row for every Query and Mutation field, and no row without a field', async () => {
    const schema = await buildGatewaySchema();
    expect(findFieldsWithoutPermission(schema)).toEqual([]);
    expect(findPermissionsWithoutField(schema)).toEqual([]);
  });
});
