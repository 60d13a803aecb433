/** The Partner Center client against a throwaway local server: paths, ids, idempotency, paging. */
import { randomUUID } from 'node:crypto';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamCaller, UpstreamTransport } from '../src/upstream/transport.js';
import { createPartnerCenterClient, SUPPORT_PROFILE_PUT_PATH } from '../src/upstream/partner-center.js';
import type { PartnerCenterClient } from '../src/upstream/partner-center.js';
import { deriveRequestId } from '../src/upstream/request-id.js';
import { BadUserInputError, InvalidCursorError } from '../src/errors.js';
import { startTestUpstream } from './helpers/upstream-server.js';
import type { TestUpstream } from './helpers/upstream-server.js';
import { rejectionOf } from './helpers/rejection.js';

const CID = '2d6b3f4e-8a4b-4b1c-9b0e-1f2a3b4c5d6e';
const UID = '8f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const tenantId = '11111111-1111-1111-1111-111111111111';
const objectId = '22222222-2222-2222-2222-222222222222';

let upstream: TestUpstream;
let transport: UpstreamTransport;
const caller: UpstreamCaller = { correlationId: randomUUID(), getToken: async () => 'pc-token' };
const client = (c: UpstreamCaller = caller, cursorKey = 'test-key'): PartnerCenterClient =>
  createPartnerCenterClient({ transport, baseUrl: upstream.url, caller: c, cursorKey });

const user = (id = UID) => ({ id, displayName: 'Ada', state: 'active', attributes: { objectType: 'CustomerUser' } });

beforeEach(async () => {
  upstream = await startTestUpstream(() => ({ status: 200, body: user() }));
  transport = createUpstreamTransport({ timeoutMs: 1000, deadlineMs: 3000, retryBaseMs: 1, retryMaxDelayMs: 5, circuitBreaker: false });
});
afterEach(async () => {
  transport.close();
  await upstream.close();
});

describe('support profile', () => {
  it('GETs /v1/profiles/support and PUTs the full resource to the seed path', async () => {
    const profile = { email: 'a@b.c', telephone: '4255555555', website: 'www.x.com', profileType: 'support_profile', attributes: { objectType: 'PartnerSupportProfile' } };
    upstream.setHandler(() => ({ status: 200, body: profile }));
    expect(await client().getSupportProfile()).toEqual(profile);
    expect(await client().putSupportProfile({ ...profile, email: null })).toEqual(profile);
    expect(upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/profiles/support', `PUT ${SUPPORT_PROFILE_PUT_PATH}`]);
    expect(SUPPORT_PROFILE_PUT_PATH).toBe('/v1/profiles/supportprofile');
    expect(upstream.requests[1]!.json).toEqual({ ...profile, email: null });
    expect(upstream.requests[1]!.headers['content-type']).toBe('application/json');
  });
});

describe('customer users', () => {
  it('GETs one user by encoded, validated ids', async () => {
    expect(await client().getCustomerUser(CID, UID)).toEqual(user());
    expect(upstream.requests[0]!.url).toBe(`/v1/customers/${CID}/users/${UID}`);
  });

  it('PATCHes exactly the given keys plus the object type', async () => {
    await client().patchCustomerUser(CID, UID, { displayName: 'New', phoneNumber: null, usageLocation: undefined });
    const req = upstream.requests[0]!;
    expect(`${req.method} ${req.url}`).toBe(`PATCH /v1/customers/${CID}/users/${UID}`);
    expect(req.json).toEqual({ displayName: 'New', phoneNumber: null, attributes: { objectType: 'CustomerUser' } });
  });

  it('503 on a PATCH then success: the retry carries the same MS-RequestId', async () => {
    upstream.setHandler((_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '0.01' } } : { status: 200, body: user() }));
    await client().patchCustomerUser(CID, UID, { displayName: 'New' });
    const [first, retry] = upstream.requests;
    expect(upstream.requests).toHaveLength(2);
    expect(first!.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry!.headers['ms-requestid']).toBe(first!.headers['ms-requestid']);
    expect(retry!.json).toEqual(first!.json);
  });

  it('two logical writes without a key get two MS-RequestIds', async () => {
    await client().patchCustomerUser(CID, UID, { displayName: 'A' });
    await client().patchCustomerUser(CID, UID, { displayName: 'A' });
    expect(upstream.requests[0]!.headers['ms-requestid']).not.toBe(upstream.requests[1]!.headers['ms-requestid']);
  });

  it('an Idempotency-Key makes a resent mutation reuse its MS-RequestId; another key or caller does not', async () => {
    const withKey = (key: string, oid = objectId): UpstreamCaller => ({ ...caller, idempotency: { tenantId, objectId: oid, key } });
    await client(withKey('resend-me')).patchCustomerUser(CID, UID, { displayName: 'A' });
    await client(withKey('resend-me')).patchCustomerUser(CID.toUpperCase(), UID, { displayName: 'A' }); // the resend
    await client(withKey('other-key')).patchCustomerUser(CID, UID, { displayName: 'A' });
    await client(withKey('resend-me', '33333333-3333-3333-3333-333333333333')).patchCustomerUser(CID, UID, { displayName: 'A' });
    upstream.setHandler(() => ({ status: 200, body: {} }));
    await client(withKey('resend-me')).putSupportProfile({ email: 'a@b.c' }); // another write of the same mutation
    const ids = upstream.requests.map((r) => r.headers['ms-requestid']);
    expect(ids[0]).toBe(deriveRequestId({ tenantId, objectId, idempotencyKey: 'resend-me', operation: `PATCH /v1/customers/${CID}/users/${UID}` }));
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(4);
  });

  it.each([
    ['customerId', '../profiles/support', UID],
    ['customerId', `${CID}/../../profiles/support`, UID],
    ['customerId', `${CID}%2f..`, UID],
    ['customerId', `${CID}?x=1`, UID],
    ['customerId', `${CID}#x`, UID],
    ['customerId', '', UID],
    ['userId', CID, '../../profiles/support'],
    ['userId', CID, `${UID}/x`],
    ['userId', CID, '%2e%2e'],
    ['userId', CID, 'not-a-guid'],
  ])('refuses a bad %s (customerId %p, userId %p) without sending anything', async (field, cid, uid) => {
    for (const op of [() => client().getCustomerUser(cid, uid), () => client().patchCustomerUser(cid, uid, { displayName: 'x' })]) {
      const err = await rejectionOf(op());
      expect(err).toBeInstanceOf(BadUserInputError);
      expect(err.field).toBe(field);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('maps a 404 to NOT_FOUND and an answer without an id to UPSTREAM_ERROR', async () => {
    upstream.setHandler(() => ({ status: 404, body: { code: 60002, description: 'User object id not found' } }));
    expect(await rejectionOf(client().getCustomerUser(CID, UID))).toMatchObject({ code: 'NOT_FOUND', upstreamCode: '60002' });
    upstream.setHandler(() => ({ status: 200, body: { displayName: 'no id' } }));
    expect((await rejectionOf(client().getCustomerUser(CID, UID))).code).toBe('UPSTREAM_ERROR');
  });
});

describe('customer user paging (docs/upstream.md §1.6)', () => {
  const page = (ids: string[], next?: { uri: string; token: string }) => ({
    totalCount: ids.length,
    items: ids.map((id) => user(id)),
    attributes: { objectType: 'Collection' },
    links: next ? { next: { uri: next.uri, method: 'GET', headers: [{ key: 'MS-ContinuationToken', value: next.token }] } } : {},
  });
  const U2 = '9f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

  it('turns links.next + MS-ContinuationToken into an opaque cursor and follows it', async () => {
    upstream.setHandler((r) =>
      r.headers['ms-continuationtoken'] === 'tok-2' ? { status: 200, body: page([U2]) } : { status: 200, body: page([UID], { uri: `/customers/${CID}/users?size=1&seekOperation=Next`, token: 'tok-2' }) },
    );
    const first = await client().listCustomerUsers(CID, { size: 1 });
    expect(first.items.map((u) => u.id)).toEqual([UID]);
    expect(first.nextCursor).toBeDefined();
    expect(first.nextCursor).not.toContain('tok-2');
    const second = await client().listCustomerUsers(CID, { size: 1, cursor: first.nextCursor });
    expect(second).toEqual({ items: [user(U2)] });
    expect(upstream.requests.map((r) => r.url)).toEqual([`/v1/customers/${CID}/users?size=1`, `/v1/customers/${CID}/users?size=1&seekOperation=Next`]);
    expect(upstream.requests[1]!.headers['ms-continuationtoken']).toBe('tok-2');
  });

  it('refuses a tampered cursor, a cursor of another customer, and one signed with another key', async () => {
    upstream.setHandler(() => ({ status: 200, body: page([UID], { uri: `/customers/${CID}/users?seekOperation=Next`, token: 't' }) }));
    const { nextCursor } = await client().listCustomerUsers(CID, { size: 1 });
    const c = nextCursor!;
    const tampered = `${c.slice(0, 5)}${c[5] === 'x' ? 'y' : 'x'}${c.slice(6)}`;
    const other = '3d6b3f4e-8a4b-4b1c-9b0e-1f2a3b4c5d6e';
    for (const op of [
      () => client().listCustomerUsers(CID, { size: 1, cursor: tampered }),
      () => client().listCustomerUsers(other, { size: 1, cursor: c }),
      () => client(caller, 'another-key').listCustomerUsers(CID, { size: 1, cursor: c }),
      () => client().listCustomerUsers(CID, { size: 1, cursor: 'garbage' }),
    ]) {
      const err = await rejectionOf(op());
      expect(err).toBeInstanceOf(InvalidCursorError);
      expect(err.field).toBeUndefined();
    }
    expect(upstream.requests).toHaveLength(1);
  });

  it.each([
    `/customers/${CID}/users/../../profiles/support`,
    `/customers/${CID}/users/%2e%2e/%2e%2e/profiles/support`,
    `/customers/3d6b3f4e-8a4b-4b1c-9b0e-1f2a3b4c5d6e/users?seekOperation=Next`,
    `//evil.example/customers/${CID}/users`,
    `https://evil.example/customers/${CID}/users`,
  ])('refuses an upstream next link %p that leaves this customer\'s users', async (uri) => {
    upstream.setHandler(() => ({ status: 200, body: page([UID], { uri, token: 't' }) }));
    expect((await rejectionOf(client().listCustomerUsers(CID, { size: 1 }))).code).toBe('UPSTREAM_ERROR');
  });

  it('validates the page size before sending', async () => {
    for (const size of [0, 501, 1.5]) expect(await rejectionOf(client().listCustomerUsers(CID, { size }))).toBeInstanceOf(BadUserInputError);
    expect(upstream.requests).toHaveLength(0);
  });
});
