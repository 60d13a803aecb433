import { randomUUID } from 'node:crypto';
import { seedData } from '../src/emulator/index.js';
import { call, graphToken, partnerCenterToken, startEmulatorForFile } from './helpers/emulator-fixtures.js';

const emulator = startEmulatorForFile();
let pcToken: string;
let graph: string;
const customer = seedData.customers[0]!;
const userPath = `/v1/customers/${customer.id}/users/${customer.userIds[0]}`;
const profilePath = `/beta/directory/externalUserProfiles/${seedData.externalUserProfileIds[0]}`;

beforeAll(async () => {
  pcToken = await partnerCenterToken(emulator);
  graph = await graphToken(emulator);
});
beforeEach(() => emulator.reset());

describe('fault injection', () => {
  it('answers an injected 429 in the Partner Center throttling shape with Retry-After, once by default', async () => {
    emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 429, retryAfter: '3' });
    const throttled = await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect(throttled.body).toEqual({ statusCode: 429, message: 'Rate limit is exceeded. Try again in 3 seconds.' });
    expect((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).status).toBe(200);
  });

  it('answers other injected statuses in each service own error shape', async () => {
    emulator.injectFault({ path: userPath, status: 503 });
    const pc = await call(emulator, 'GET', userPath, { token: pcToken });
    expect(pc.status).toBe(503);
    expect(pc.body).toMatchObject({ code: expect.any(Number), description: expect.any(String), data: [], source: 'PartnerFD' });
    expect(pc.headers.get('ms-requestid')).toBeTruthy();

    emulator.injectFault({ path: profilePath, status: 429, retryAfter: '0.2' });
    const g = await call(emulator, 'GET', profilePath, { token: graph });
    expect(g.status).toBe(429);
    expect(g.headers.get('retry-after')).toBe('0.2');
    expect(g.body.error.code).toBe('TooManyRequests');
    expect(g.headers.get('request-id')).toBeTruthy();
  });

  it('uses a given body and headers instead of the service error body', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', status: 500, body: { custom: true }, headers: { 'X-Extra': 'yes' } });
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken });
    expect(res.body).toEqual({ custom: true });
    expect(res.headers.get('x-extra')).toBe('yes');
  });

  it('applies a fault the given number of times, or forever with Infinity', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', status: 503, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).status);
    expect(statuses).toEqual([503, 503, 200]);

    emulator.injectFault({ path: '/v1/profiles/support', status: 504, times: Infinity });
    for (let i = 0; i < 5; i++) expect((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).status).toBe(504);
    emulator.clearFaults();
    expect((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).status).toBe(200);
  });

  it('matches by method, glob (one segment per *) and RegExp', async () => {
    emulator.injectFault({ method: 'PATCH', path: '/v1/customers/*/users/*', status: 409, times: Infinity });
    expect((await call(emulator, 'GET', userPath, { token: pcToken })).status).toBe(200);
    expect((await call(emulator, 'PATCH', userPath, { token: pcToken, body: { displayName: 'x' } })).status).toBe(409);
    expect((await call(emulator, 'GET', `/v1/customers/${customer.id}/users`, { token: pcToken })).status).toBe(200);
    emulator.clearFaults();
    emulator.injectFault({ path: /externalUserProfiles\/[^/]+$/, status: 500 });
    expect((await call(emulator, 'GET', profilePath, { token: graph })).status).toBe(500);
  });

  it('scopes a fault to one tenant (the token\'s tid), in $batch sub-requests too', async () => {
    const other = randomUUID();
    const otherGraph = await graphToken(emulator, { tenantId: other });
    emulator.injectFault({ path: profilePath, status: 429, retryAfter: '600', tenantId: seedData.partnerTenantId, times: Infinity });
    expect((await call(emulator, 'GET', profilePath, { token: otherGraph })).status).toBe(200);
    const throttled = await call(emulator, 'GET', profilePath, { token: graph });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('600');
    const requests = [{ id: '1', method: 'GET', url: profilePath.replace(/^\/beta/, '') }];
    const [mine, theirs] = await Promise.all([
      call(emulator, 'POST', '/beta/$batch', { token: graph, body: { requests } }),
      call(emulator, 'POST', '/beta/$batch', { token: otherGraph, body: { requests } }),
    ]);
    expect(mine.body.responses[0].status).toBe(429);
    expect(theirs.body.responses[0].status).toBe(200);
  });

  it('resets the connection (ECONNRESET at the client)', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', reset: true });
    const failure = await fetch(`${emulator.url}/v1/profiles/support`, { headers: { authorization: `Bearer ${pcToken}` } }).then(
      () => undefined,
      (err: unknown) => err as { cause?: { code?: string } },
    );
    expect(failure).toBeDefined();
    expect(failure!.cause?.code).toBe('ECONNRESET');
    expect(emulator.requests({ path: '/v1/profiles/support' }).at(-1)!.status).toBe(0);
  });

  it('delays before answering, or before passing through', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', delayMs: 150 });
    const started = performance.now();
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('applies a held write it passes through even when its client has gone meanwhile (as a real upstream that got it)', async () => {
    emulator.injectFault({ method: 'PUT', path: '/v1/profiles/supportprofile', delayMs: 200 });
    const arrival = emulator.nextRequest({ method: 'PUT', path: '/v1/profiles/supportprofile' });
    const client = new AbortController();
    const sent = fetch(`${emulator.url}/v1/profiles/supportprofile`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${pcToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'gone@contoso.example', profileType: 'support_profile' }),
      signal: client.signal,
    }).catch((error: unknown) => error);
    const held = await arrival;
    expect(held).toMatchObject({ service: 'partner-center', method: 'PUT', path: '/v1/profiles/supportprofile' });
    client.abort(); // the client gives up while the request is held
    expect(await sent).toMatchObject({ name: 'AbortError' });
    expect((await held.answered).status).toBe(200);
    expect((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).body.email).toBe('gone@contoso.example');
  });

  it('does not count an injected failure as the first answer of an MS-RequestId', async () => {
    const requestId = randomUUID();
    emulator.injectFault({ path: userPath, method: 'PATCH', status: 503 });
    const failed = await call(emulator, 'PATCH', userPath, { token: pcToken, body: { displayName: 'Retried' }, headers: { 'MS-RequestId': requestId } });
    expect(failed.status).toBe(503);
    const retried = await call(emulator, 'PATCH', userPath, { token: pcToken, body: { displayName: 'Retried' }, headers: { 'MS-RequestId': requestId } });
    expect(retried.status).toBe(200);
    expect(retried.body.displayName).toBe('Retried');
  });

  it('refuses malformed fault specs', () => {
    expect(() => emulator.injectFault({ path: '' })).toThrow();
    expect(() => emulator.injectFault({ path: '/v1/x' })).toThrow(/status, reset or delayMs/);
    expect(() => emulator.injectFault({ path: '/v1/x', status: 429, tenantId: '' })).toThrow(/tenantId/);
  });
});

describe('latency, request log and reset', () => {
  it('adds a fixed latency to upstream API responses', async () => {
    emulator.setLatency(120);
    const started = performance.now();
    await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken });
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('records requests with lower-cased headers, parsed bodies and answered status', async () => {
    await call(emulator, 'PATCH', userPath, { token: pcToken, body: { displayName: 'Logged' }, headers: { 'MS-CorrelationId': randomUUID() } });
    const [entry] = emulator.requests({ service: 'partner-center', method: 'patch' });
    expect(entry).toMatchObject({
      service: 'partner-center',
      method: 'PATCH',
      path: userPath,
      body: { displayName: 'Logged' },
      status: 200,
      at: expect.any(Number),
    });
    expect(entry!.headers['authorization']).toBe(`Bearer ${pcToken}`);
    expect(entry!.headers['ms-correlationid']).toBeTruthy();
    emulator.clearRequests();
    expect(emulator.requests()).toEqual([]);
  });

  it('reset restores the seed data and clears faults', async () => {
    await call(emulator, 'PUT', '/v1/profiles/support', { token: pcToken, body: { email: 'changed@x.example' } });
    emulator.injectFault({ path: '/v1/profiles/support', status: 500, times: Infinity });
    emulator.reset();
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken });
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(seedData.supportProfile.email);
  });
});

describe('HTTP control API (test mode)', () => {
  it('injects faults with a regex path, lists and clears requests, sets latency and resets', async () => {
    const fault = await call(emulator, 'POST', '/_emulator/faults', { body: { path: { regex: '^/beta/directory/' }, status: 503, times: 'Infinity' } });
    expect(fault.status).toBe(204);
    expect((await call(emulator, 'GET', profilePath, { token: graph })).status).toBe(503);
    expect((await call(emulator, 'GET', profilePath, { token: graph })).status).toBe(503);
    expect((await call(emulator, 'DELETE', '/_emulator/faults')).status).toBe(204);
    expect((await call(emulator, 'GET', profilePath, { token: graph })).status).toBe(200);

    const logged = await call(emulator, 'GET', '/_emulator/requests?service=graph');
    expect(logged.body.map((r: { status: number }) => r.status)).toEqual([503, 503, 200]);
    expect((await call(emulator, 'DELETE', '/_emulator/requests')).status).toBe(204);
    expect((await call(emulator, 'GET', '/_emulator/requests?service=graph')).body).toEqual([]);

    expect((await call(emulator, 'PUT', '/_emulator/latency', { body: { ms: 5 } })).status).toBe(204);
    expect((await call(emulator, 'PUT', '/_emulator/latency', { body: { ms: -1 } })).status).toBe(400);
    await call(emulator, 'PUT', '/v1/profiles/support', { token: pcToken, body: {} });
    expect((await call(emulator, 'POST', '/_emulator/reset')).status).toBe(204);
    expect((await call(emulator, 'GET', '/v1/profiles/support', { token: pcToken })).body.email).toBe(seedData.supportProfile.email);
  });

  it('refuses a malformed fault over HTTP with 400', async () => {
    expect((await call(emulator, 'POST', '/_emulator/faults', { body: { path: { regex: '(' }, status: 500 } })).status).toBe(400);
    expect((await call(emulator, 'POST', '/_emulator/faults', { rawBody: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });
});
