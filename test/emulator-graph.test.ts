import { randomUUID } from 'node:crypto';
import { seedData } from '../src/emulator/index.js';
import { call, graphToken, startEmulatorForFile } from './helpers/emulator-fixtures.js';

const emulator = startEmulatorForFile();
let token: string;
const profileId = seedData.externalUserProfileIds[0]!;
const profilePath = `/beta/directory/externalUserProfiles/${profileId}`;

beforeAll(async () => {
  token = await graphToken(emulator);
});
beforeEach(() => emulator.reset());

describe('Graph externalUserProfiles', () => {
  it('returns a profile with @odata.context and every property', async () => {
    const res = await call(emulator, 'GET', profilePath, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body['@odata.context']).toBe(`${emulator.url}/beta/$metadata#directory/externalUserProfiles/$entity`);
    expect(Object.keys(res.body).sort()).toEqual(
      ['@odata.context', 'id', 'address', 'companyName', 'createdBy', 'createdDateTime', 'deletedDateTime', 'department',
        'displayName', 'isDiscoverable', 'isEnabled', 'jobTitle', 'phoneNumber', 'supervisorId'].sort(),
    );
    expect(res.body.id).toBe(profileId);
    expect(res.body.deletedDateTime).toBeNull();
    expect(res.body.phoneNumber).toMatch(/^\+\d{8,15}$/);
    expect(new Date(res.body.createdDateTime).toISOString()).toBeTruthy();
  });

  it('answers unknown ids with 404 Request_ResourceNotFound in the OData error shape', async () => {
    const clientRequestId = randomUUID();
    const res = await call(emulator, 'GET', `/beta/directory/externalUserProfiles/${randomUUID()}`, {
      token,
      headers: { 'client-request-id': clientRequestId },
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('Request_ResourceNotFound');
    expect(res.body.error.innerError).toMatchObject({ 'client-request-id': clientRequestId, 'request-id': res.headers.get('request-id') });
    expect(res.headers.get('client-request-id')).toBe(clientRequestId);
  });

  it('refuses a client-request-id that is not a GUID', async () => {
    const res = await call(emulator, 'GET', profilePath, { token, headers: { 'client-request-id': 'abc' } });
    expect(res.status).toBe(400);
  });

  it('supports $select', async () => {
    const res = await call(emulator, 'GET', `${profilePath}?$select=id,displayName`, { token });
    expect(Object.keys(res.body).sort()).toEqual(['@odata.context', 'displayName', 'id']);
  });

  it('answers only the $select-ed properties (id too only when selected), a complex property whole', async () => {
    const res = await call(emulator, 'GET', `${profilePath}?$select=address,jobTitle`, { token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['@odata.context', 'address', 'jobTitle']);
    expect(res.body['@odata.context']).toBe(`${emulator.url}/beta/$metadata#directory/externalUserProfiles(address,jobTitle)/$entity`);
    expect(Object.keys(res.body.address).sort()).toEqual(['city', 'countryOrRegion', 'officeLocation', 'postalCode', 'state', 'street']);
    // Property names are case-insensitive; the answer names them as Graph does.
    const mixed = await call(emulator, 'GET', `${profilePath}?$select=ID,DisplayName`, { token });
    expect(Object.keys(mixed.body).sort()).toEqual(['@odata.context', 'displayName', 'id']);
  });

  it('refuses an unknown $select property with 400 in the OData error shape, and the request log shows what was asked', async () => {
    emulator.clearRequests();
    const res = await call(emulator, 'GET', `${profilePath}?$select=id,nickname`, { token });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BadRequest', innerError: { 'request-id': res.headers.get('request-id') } });
    expect(res.body.error.message).toContain("'nickname'");
    expect(emulator.requests({ service: 'graph' }).map((r) => [r.path, r.status])).toEqual([[`${profilePath}?$select=id,nickname`, 400]]);
  });

  it('records the size of each answer it sent: a $select-ed one is smaller', async () => {
    emulator.clearRequests();
    const full = await fetch(`${emulator.url}${profilePath}`, { headers: { authorization: `Bearer ${token}` } });
    const fullBytes = Buffer.byteLength(await full.text());
    const narrow = await fetch(`${emulator.url}${profilePath}?$select=id,displayName`, { headers: { authorization: `Bearer ${token}` } });
    const narrowBytes = Buffer.byteLength(await narrow.text());
    expect(emulator.requests({ service: 'graph' }).map((r) => r.responseBytes)).toEqual([fullBytes, narrowBytes]);
    expect(narrowBytes).toBeLessThan(fullBytes / 2);
  });

  it('answers a list page with only the $select-ed properties, and its nextLink carries the $select', async () => {
    const first = await call(emulator, 'GET', '/beta/directory/externalUserProfiles?$top=3&$select=id,companyName', { token });
    expect(first.status).toBe(200);
    for (const item of first.body.value) expect(Object.keys(item).sort()).toEqual(['companyName', 'id']);
    const next: string = first.body['@odata.nextLink'];
    expect(new URL(next).searchParams.get('$select')).toBe('id,companyName');
    const second = await call(emulator, 'GET', next, { token });
    expect(second.body.value.length).toBeGreaterThan(0);
    for (const item of second.body.value) expect(Object.keys(item).sort()).toEqual(['companyName', 'id']);
  });

  it('pages with $top and an absolute @odata.nextLink until every profile was seen once', async () => {
    const seen: string[] = [];
    let next: string | undefined = `${emulator.url}/beta/directory/externalUserProfiles?$top=7`;
    while (next) {
      expect(next.startsWith(`${emulator.url}/beta/`)).toBe(true);
      const res: { status: number; body: any } = await call(emulator, 'GET', next, { token });
      expect(res.status).toBe(200);
      expect(res.body.value.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.value.map((p: { id: string }) => p.id));
      next = res.body['@odata.nextLink'];
    }
    expect(seen).toEqual(seedData.externalUserProfileIds);
  });

  it('returns 100 per page by default and refuses a bad $top or $skiptoken', async () => {
    const all = await call(emulator, 'GET', '/beta/directory/externalUserProfiles', { token });
    expect(all.body.value).toHaveLength(seedData.externalUserProfileIds.length);
    expect(all.body['@odata.nextLink']).toBeUndefined();
    expect((await call(emulator, 'GET', '/beta/directory/externalUserProfiles?$top=1000', { token })).status).toBe(400);
    expect((await call(emulator, 'GET', '/beta/directory/externalUserProfiles?$skiptoken=garbage', { token })).status).toBe(400);
  });

  it('PATCH answers 204 with no body and applies only the properties sent', async () => {
    const before = (await call(emulator, 'GET', profilePath, { token })).body;
    const res = await call(emulator, 'PATCH', profilePath, { token, body: { jobTitle: 'Contractor', isEnabled: false } });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const after = (await call(emulator, 'GET', profilePath, { token })).body;
    expect(after).toEqual({ ...before, jobTitle: 'Contractor', isEnabled: false });
  });

  it('PATCH replaces the whole address (complex property semantics)', async () => {
    const withAddress = seedData.externalUserProfileIds.find((_, i) => i % 5 !== 4)!;
    const path = `/beta/directory/externalUserProfiles/${withAddress}`;
    const before = (await call(emulator, 'GET', path, { token })).body;
    expect(before.address.street).toEqual(expect.any(String));
    await call(emulator, 'PATCH', path, { token, body: { address: { city: 'Oslo' } } });
    const after = (await call(emulator, 'GET', path, { token })).body;
    expect(after.address).toEqual({ city: 'Oslo', countryOrRegion: null, officeLocation: null, postalCode: null, state: null, street: null });
  });

  it.each<[Record<string, unknown>, string]>([
    [{ phoneNumber: '+14255550000' }, 'read-only property'],
    [{ createdBy: randomUUID() }, 'read-only property'],
    [{ favouriteColour: 'blue' }, 'unknown property'],
    [{ DisplayName: 'Case matters' }, 'wrong case'],
    [{ isEnabled: 'yes' }, 'wrong type'],
    [{ address: { town: 'Oslo' } }, 'unknown address property'],
  ])('PATCH refuses %j (%s) with 400 invalidRequest and changes nothing', async (body) => {
    const before = (await call(emulator, 'GET', profilePath, { token })).body;
    const res = await call(emulator, 'PATCH', profilePath, { token, body: { jobTitle: 'Changed', ...body } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalidRequest');
    expect((await call(emulator, 'GET', profilePath, { token })).body).toEqual(before);
  });

  it('PATCH requires Content-Type application/json and tolerates @odata.type', async () => {
    const noType = await call(emulator, 'PATCH', profilePath, { token, rawBody: '{"jobTitle":"x"}', headers: { 'content-type': 'text/plain' } });
    expect(noType.status).toBe(415);
    const typed = await call(emulator, 'PATCH', profilePath, { token, body: { '@odata.type': '#microsoft.graph.externalUserProfile', jobTitle: 'y' } });
    expect(typed.status).toBe(204);
  });

  it('PATCH on an unknown id is 404', async () => {
    const res = await call(emulator, 'PATCH', `/beta/directory/externalUserProfiles/${randomUUID()}`, { token, body: { jobTitle: 'x' } });
    expect(res.status).toBe(404);
  });

  it('enforces ExternalUserProfile permissions and refuses personal accounts', async () => {
    const reader = await graphToken(emulator, { scp: 'ExternalUserProfile.Read.All' });
    expect((await call(emulator, 'GET', profilePath, { token: reader })).status).toBe(200);
    const write = await call(emulator, 'PATCH', profilePath, { token: reader, body: { jobTitle: 'x' } });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('Authorization_RequestDenied');
    const unrelated = await graphToken(emulator, { scp: 'User.Read' });
    expect((await call(emulator, 'GET', profilePath, { token: unrelated })).status).toBe(403);
    const msa = await graphToken(emulator, { msa: true });
    expect((await call(emulator, 'GET', profilePath, { token: msa })).status).toBe(403);
    const app = await graphToken(emulator, { scp: undefined, roles: ['ExternalUserProfile.ReadWrite.All'] });
    expect((await call(emulator, 'PATCH', profilePath, { token: app, body: { jobTitle: 'App' } })).status).toBe(204);
  });

  it('answers 401 InvalidAuthenticationToken without a token or with a wrong-audience token', async () => {
    const none = await call(emulator, 'GET', profilePath);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('InvalidAuthenticationToken');
    const gatewayToken = await emulator.mintToken();
    expect((await call(emulator, 'GET', profilePath, { token: gatewayToken })).status).toBe(401);
  });

  it('answers unknown routes with 404 in the Graph shape', async () => {
    const res = await call(emulator, 'GET', '/beta/directory/somethingElse', { token });
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
  });
});

describe('Graph $batch', () => {
  const getRequest = (i: number): Record<string, unknown> => ({
    id: String(i + 1),
    method: 'GET',
    url: `/directory/externalUserProfiles/${seedData.externalUserProfileIds[i]}`,
  });

  it('runs each sub-request and answers every id (envelope 200)', async () => {
    const requests = [
      getRequest(0),
      { id: 'patch', method: 'PATCH', url: `directory/externalUserProfiles/${seedData.externalUserProfileIds[1]}`, headers: { 'Content-Type': 'application/json' }, body: { jobTitle: 'Batched' } },
      { id: 'missing', method: 'GET', url: `/directory/externalUserProfiles/${randomUUID()}` },
    ];
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1'].status).toBe(200);
    expect(byId['1'].body.id).toBe(seedData.externalUserProfileIds[0]);
    expect(byId.patch.status).toBe(204);
    expect(byId.patch.body).toBeUndefined();
    expect(byId.missing.status).toBe(404);
    expect(byId.missing.body.error.code).toBe('Request_ResourceNotFound');
    const patched = await call(emulator, 'GET', `/beta/directory/externalUserProfiles/${seedData.externalUserProfileIds[1]}`, { token });
    expect(patched.body.jobTitle).toBe('Batched');
  });

  it('refuses more than 20 requests with 400 for the whole batch', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => getRequest(i));
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BadRequest');
    const twenty = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests: requests.slice(0, 20) } });
    expect(twenty.status).toBe(200);
  });

  it.each([
    ['duplicate ids (case-insensitive)', [{ id: 'a', method: 'GET', url: '/directory/externalUserProfiles' }, { id: 'A', method: 'GET', url: '/directory/externalUserProfiles' }]],
    ['a missing url', [{ id: 'a', method: 'GET' }]],
    ['a missing method', [{ id: 'a', url: '/directory/externalUserProfiles' }]],
    ['a missing id', [{ method: 'GET', url: '/directory/externalUserProfiles' }]],
    ['a body without headers', [{ id: 'a', method: 'PATCH', url: `/directory/externalUserProfiles/${profileId}`, body: { jobTitle: 'x' } }]],
  ])('refuses %s with 400', async (_name, requests) => {
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    expect(res.status).toBe(400);
  });

  it('answers in an order that differs from the request order at least once', async () => {
    const requests = Array.from({ length: 10 }, (_, i) => getRequest(i));
    const orders: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
      const ids = res.body.responses.map((r: { id: string }) => r.id);
      expect([...ids].sort()).toEqual(requests.map((r) => r.id).sort());
      orders.push(ids.join(','));
    }
    expect(orders.some((o) => o !== requests.map((r) => r.id).join(','))).toBe(true);
  });

  it('throttles a single sub-request with 429 and Retry-After in its own headers', async () => {
    const throttledId = seedData.externalUserProfileIds[2]!;
    emulator.injectFault({ method: 'GET', path: `/beta/directory/externalUserProfiles/${throttledId}`, status: 429, retryAfter: '2' });
    const requests = [getRequest(0), getRequest(1), getRequest(2)];
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['3'].status).toBe(429);
    expect(byId['3'].headers['Retry-After']).toBe('2');
    expect(byId['3'].body.error.code).toBe('TooManyRequests');
    expect(byId['1'].status).toBe(200);
    expect(byId['2'].status).toBe(200);
  });

  it('records sub-requests separately, marked with their batch', async () => {
    emulator.clearRequests();
    await call(emulator, 'POST', '/beta/$batch', { token, body: { requests: [getRequest(0), getRequest(1)] } });
    const subs = emulator.requests({ service: 'graph' }).filter((r) => r.batchOf !== undefined);
    expect(subs.map((r) => r.path).sort()).toEqual(
      [0, 1].map((i) => `/beta/directory/externalUserProfiles/${seedData.externalUserProfileIds[i]}`).sort(),
    );
    const envelope = emulator.requests({ path: '/beta/$batch' });
    expect(envelope).toHaveLength(1);
    expect(envelope[0]!.batchOf).toBeUndefined();
  });

  it('answers $select in a sub-request like a plain GET, and records the sub-request with its query', async () => {
    emulator.clearRequests();
    const requests = [
      { id: '1', method: 'GET', url: `/directory/externalUserProfiles/${seedData.externalUserProfileIds[0]}?$select=id,displayName` },
      { id: '2', method: 'GET', url: `/directory/externalUserProfiles/${seedData.externalUserProfileIds[1]}?$select=id,bogus` },
    ];
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    const byId = Object.fromEntries(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1'].status).toBe(200);
    expect(Object.keys(byId['1'].body).sort()).toEqual(['@odata.context', 'displayName', 'id']);
    expect(byId['2'].status).toBe(400);
    expect(byId['2'].body.error.code).toBe('BadRequest');
    const subs = emulator.requests({ service: 'graph' }).filter((r) => r.batchOf !== undefined);
    expect(subs.map((r) => r.path).sort()).toEqual(requests.map((r) => `/beta${r.url}`).sort());
  });

  it('answers 424 to a request whose dependency failed', async () => {
    const requests = [
      { id: 'a', method: 'GET', url: `/directory/externalUserProfiles/${randomUUID()}` },
      { id: 'b', method: 'GET', url: `/directory/externalUserProfiles/${profileId}`, dependsOn: ['a'] },
    ];
    const res = await call(emulator, 'POST', '/beta/$batch', { token, body: { requests } });
    const byId = Object.fromEntries(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId.a.status).toBe(404);
    expect(byId.b.status).toBe(424);
  });

  it('requires a valid token for the batch itself', async () => {
    const res = await call(emulator, 'POST', '/beta/$batch', { body: { requests: [getRequest(0)] } });
    expect(res.status).toBe(401);
  });
});
