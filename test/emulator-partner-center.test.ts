import { randomUUID } from 'node:crypto';
import { seedData } from '../src/emulator/index.js';
import { call, partnerCenterToken, startEmulatorForFile } from './helpers/emulator-fixtures.js';

const emulator = startEmulatorForFile();
let token: string;
const [contoso, northwind] = seedData.customers;

beforeAll(async () => {
  token = await partnerCenterToken(emulator);
});
beforeEach(() => emulator.reset());

describe('Partner Center support profile', () => {
  it('returns the seeded profile in camelCase with profileType, links and attributes', async () => {
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      ...seedData.supportProfile,
      profileType: 'support_profile',
      links: { self: { uri: '/v1/profiles/support', method: 'GET', headers: [] } },
      attributes: { objectType: 'PartnerSupportProfile' },
    });
  });

  it('accepts the seed page PascalCase body on /supportprofile and clears fields left out', async () => {
    const put = await call(emulator, 'PUT', '/v1/profiles/supportprofile', {
      token,
      body: { Email: 'email@sample.com', Website: 'www.microsoft.com', ProfileType: 'support_profile', Attributes: { ObjectType: 'PartnerSupportProfile' } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      email: 'email@sample.com',
      website: 'www.microsoft.com',
      profileType: 'support_profile',
      links: { self: { uri: '/v1/profiles/support', method: 'GET', headers: [] } },
      attributes: { objectType: 'PartnerSupportProfile' },
    });
    const get = await call(emulator, 'GET', '/v1/profiles/support', { token });
    expect(get.body.email).toBe('email@sample.com');
    expect(get.body).not.toHaveProperty('telephone');
  });

  it('also accepts PUT on the SDK path /profiles/support, with property names in any case', async () => {
    const put = await call(emulator, 'PUT', '/v1/profiles/support', { token, body: { EMAIL: 'a@b.example', telephone: '123' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ email: 'a@b.example', telephone: '123' });
    expect(put.body).not.toHaveProperty('website');
  });

  it.each([
    ['an array', '[]'],
    ['malformed JSON', '{"email": '],
    ['no body', ''],
    ['a number email', '{"email": 5}'],
  ])('refuses %s with 400 code 3000', async (_name, rawBody) => {
    const res = await call(emulator, 'PUT', '/v1/profiles/supportprofile', { token, rawBody, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 3000, data: [], source: 'PartnerFD' });
    expect(typeof res.body.description).toBe('string');
  });

  it('keeps one profile per partner tenant', async () => {
    const other = await partnerCenterToken(emulator, { tenantId: randomUUID() });
    await call(emulator, 'PUT', '/v1/profiles/support', { token: other, body: { email: 'x@other.example' } });
    const mine = await call(emulator, 'GET', '/v1/profiles/support', { token });
    expect(mine.body.email).toBe(seedData.supportProfile.email);
  });
});

describe('Partner Center customer users', () => {
  const userId = contoso!.userIds[0]!;
  const userPath = `/v1/customers/${contoso!.id}/users/${userId}`;

  it('returns a user with lower snake_case enums, links and attributes, never the password', async () => {
    const res = await call(emulator, 'GET', userPath, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: userId,
      state: 'active',
      userDomainType: 'managed',
      links: { self: { uri: `/customers/${contoso!.id}/users/${userId}`, method: 'GET', headers: [] } },
      attributes: { objectType: 'CustomerUser' },
    });
    expect(res.body.userPrincipalName).toMatch(new RegExp(`@${contoso!.domain}$`));
    expect(res.body).not.toHaveProperty('passwordProfile');
  });

  it('answers 404 with numeric codes 60003 (customer) and 60002 (user), 400 for malformed ids', async () => {
    const noCustomer = await call(emulator, 'GET', `/v1/customers/${randomUUID()}/users/${userId}`, { token });
    expect(noCustomer.status).toBe(404);
    expect(noCustomer.body).toMatchObject({ code: 60003, source: 'PartnerFD' });
    const noUser = await call(emulator, 'GET', `/v1/customers/${contoso!.id}/users/${randomUUID()}`, { token });
    expect(noUser.status).toBe(404);
    expect(noUser.body).toMatchObject({ code: 60002, source: 'PartnerFD' });
    const badId = await call(emulator, 'GET', `/v1/customers/not-a-guid/users/${userId}`, { token });
    expect(badId.status).toBe(400);
    expect(badId.body.code).toBe(3000);
  });

  it('refuses customers of another partner', async () => {
    const other = await partnerCenterToken(emulator, { tenantId: randomUUID() });
    const res = await call(emulator, 'GET', userPath, { token: other });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe(20002);
  });

  it('PATCH merges only the keys sent (any case) and answers the full user', async () => {
    const before = (await call(emulator, 'GET', userPath, { token })).body;
    const res = await call(emulator, 'PATCH', userPath, {
      token,
      body: { UsageLocation: 'de', displayName: 'New Name', attributes: { objectType: 'CustomerUser' } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...before, usageLocation: 'DE', displayName: 'New Name' });
    const after = (await call(emulator, 'GET', userPath, { token })).body;
    expect(after).toEqual(res.body);
  });

  it('PATCH null clears a field where allowed, and validates types and enums', async () => {
    const cleared = await call(emulator, 'PATCH', userPath, { token, body: { firstName: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('firstName');
    for (const body of [{ usageLocation: 'USA' }, { state: 'gone' }, { displayName: null }, { lastName: 7 }, { userDomainType: 'cloud' }]) {
      const res = await call(emulator, 'PATCH', userPath, { token, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(3000);
    }
  });

  it('stores a passwordProfile but never returns it, and enforces complexity', async () => {
    const weak = await call(emulator, 'PATCH', userPath, { token, body: { passwordProfile: { password: 'secret', forceChangePassword: true } } });
    expect(weak.status).toBe(400);
    const strong = await call(emulator, 'PATCH', userPath, { token, body: { passwordProfile: { password: 'Str0ng-Passw0rd!', forceChangePassword: true } } });
    expect(strong.status).toBe(200);
    expect(strong.body).not.toHaveProperty('passwordProfile');
  });

  it('DELETE soft-deletes (204) and PATCH state=active restores', async () => {
    const del = await call(emulator, 'DELETE', userPath, { token });
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    const deleted = (await call(emulator, 'GET', userPath, { token })).body;
    expect(deleted.state).toBe('inactive');
    expect(typeof deleted.softDeletionTime).toBe('string');
    const restored = await call(emulator, 'PATCH', userPath, { token, body: { state: 'active', attributes: { objectType: 'CustomerUser' } } });
    expect(restored.status).toBe(200);
    expect(restored.body.state).toBe('active');
    expect(restored.body).not.toHaveProperty('softDeletionTime');
  });

  it('restores the seeded soft-deleted user', async () => {
    const path = `/v1/customers/${seedData.softDeletedUserCustomerId}/users/${seedData.softDeletedUserId}`;
    expect((await call(emulator, 'GET', path, { token })).body.state).toBe('inactive');
    const res = await call(emulator, 'PATCH', path, { token, body: { state: 'active' } });
    expect(res.body.state).toBe('active');
  });
});

describe('Partner Center user listing (seek paging)', () => {
  const listPath = (size: number): string => `/v1/customers/${northwind!.id}/users?size=${size}`;

  it('visits every active user exactly once by following links.next with its header', async () => {
    const seen: string[] = [];
    let res = await call(emulator, 'GET', listPath(7), { token });
    for (;;) {
      expect(res.status).toBe(200);
      expect(res.body.totalCount).toBe(res.body.items.length);
      expect(res.body.attributes).toEqual({ objectType: 'Collection' });
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      const next = res.body.links.next;
      if (!next) break;
      expect(next.uri).toBe(`/customers/${northwind!.id}/users?size=7&seekOperation=Next`);
      expect(next.method).toBe('GET');
      const headers = Object.fromEntries(next.headers.map((h: { key: string; value: string }) => [h.key, h.value]));
      expect(Object.keys(headers)).toEqual(['MS-ContinuationToken']);
      expect(res.body.continuationToken).toBe(headers['MS-ContinuationToken']);
      res = await call(emulator, 'GET', `/v1${next.uri}`, { token, headers });
    }
    expect(seen).toEqual(northwind!.userIds);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('refuses a continuation call without the MS-ContinuationToken header, or with a foreign one', async () => {
    const first = await call(emulator, 'GET', listPath(10), { token });
    const missing = await call(emulator, 'GET', `/v1${first.body.links.next.uri}`, { token });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 3000, source: 'PartnerFD' });
    const forged = await call(emulator, 'GET', `/v1${first.body.links.next.uri}`, { token, headers: { 'MS-ContinuationToken': 'abc.def' } });
    expect(forged.status).toBe(400);
    const otherCustomer = await call(emulator, 'GET', `/v1/customers/${contoso!.id}/users?size=10&seekOperation=Next`, {
      token,
      headers: { 'MS-ContinuationToken': first.body.continuationToken },
    });
    expect(otherCustomer.status).toBe(400);
  });

  it('does not list soft-deleted users, except with the UserState filter', async () => {
    const all = await call(emulator, 'GET', `/v1/customers/${contoso!.id}/users?size=500`, { token });
    expect(all.body.items.map((u: { id: string }) => u.id)).toEqual(contoso!.userIds);
    expect(all.body.links.next).toBeUndefined();
    const filter = encodeURIComponent(JSON.stringify({ Field: 'UserState', Value: 'Inactive', Operator: 'equals' }));
    const deleted = await call(emulator, 'GET', `/v1/customers/${contoso!.id}/users?size=500&filter=${filter}`, { token });
    expect(deleted.body.items.map((u: { id: string }) => u.id)).toEqual([seedData.softDeletedUserId]);
  });

  it.each(['0', '501', 'ten'])('refuses size=%s with 400', async (size) => {
    const res = await call(emulator, 'GET', `/v1/customers/${contoso!.id}/users?size=${size}`, { token });
    expect(res.status).toBe(400);
  });
});

describe('Partner Center headers and idempotency', () => {
  const userPath = `/v1/customers/${contoso!.id}/users/${contoso!.userIds[1]}`;

  it('echoes MS-RequestId and MS-CorrelationId, and sets MS-CV and MS-ServerId', async () => {
    const requestId = randomUUID();
    const correlationId = randomUUID();
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token, headers: { 'MS-RequestId': requestId, 'MS-CorrelationId': correlationId } });
    expect(res.headers.get('ms-requestid')).toBe(requestId);
    expect(res.headers.get('ms-correlationid')).toBe(correlationId);
    expect(res.headers.get('ms-cv')).toBeTruthy();
    expect(res.headers.get('ms-serverid')).toBeTruthy();
    const generated = await call(emulator, 'GET', '/v1/profiles/support', { token });
    expect(generated.headers.get('ms-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses non-GUID MS-RequestId and MS-CorrelationId', async () => {
    for (const header of ['MS-RequestId', 'MS-CorrelationId']) {
      const res = await call(emulator, 'GET', '/v1/profiles/support', { token, headers: { [header]: 'not-a-guid' } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(3000);
    }
  });

  it('replays the first answer for a write with an MS-RequestId already seen, applying it once', async () => {
    const requestId = randomUUID();
    const first = await call(emulator, 'PATCH', userPath, { token, body: { displayName: 'First' }, headers: { 'MS-RequestId': requestId } });
    await call(emulator, 'PATCH', userPath, { token, body: { displayName: 'Between' } });
    const replay = await call(emulator, 'PATCH', userPath, { token, body: { displayName: 'Second' }, headers: { 'MS-RequestId': requestId } });
    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual(first.body);
    expect(replay.body.displayName).toBe('First');
    const now = await call(emulator, 'GET', userPath, { token });
    expect(now.body.displayName).toBe('Between');
  });

  it('replays a DELETE instead of failing the retry', async () => {
    const requestId = randomUUID();
    const first = await call(emulator, 'DELETE', userPath, { token, headers: { 'MS-RequestId': requestId } });
    const retry = await call(emulator, 'DELETE', userPath, { token, headers: { 'MS-RequestId': requestId } });
    expect(first.status).toBe(204);
    expect(retry.status).toBe(204);
    const fresh = await call(emulator, 'DELETE', userPath, { token, headers: { 'MS-RequestId': randomUUID() } });
    expect(fresh.status).toBe(404);
  });

  it('scopes request ids per partner tenant', async () => {
    const requestId = randomUUID();
    await call(emulator, 'PUT', '/v1/profiles/support', { token, body: { email: 'mine@a.example' }, headers: { 'MS-RequestId': requestId } });
    const other = await partnerCenterToken(emulator, { tenantId: randomUUID() });
    const res = await call(emulator, 'PUT', '/v1/profiles/support', { token: other, body: { email: 'theirs@b.example' }, headers: { 'MS-RequestId': requestId } });
    expect(res.body.email).toBe('theirs@b.example');
  });

  it('answers unknown routes with 404 in the Partner Center shape', async () => {
    const res = await call(emulator, 'GET', '/v1/nothing/here', { token });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ source: 'PartnerFD', data: [] });
    expect(typeof res.body.code).toBe('number');
  });
});
