/**
 * The upstream clients against the lead's emulator (src/emulator/), over HTTP on an ephemeral port:
 * the same fault scenarios as the local-server tests, plus real paging, `$batch` and idempotency.
 */
import { randomUUID } from 'node:crypto';
import { GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE, seedData } from '../src/emulator/index.js';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamCaller, UpstreamTransport } from '../src/upstream/transport.js';
import { createPartnerCenterClient } from '../src/upstream/partner-center.js';
import { createGraphClient } from '../src/upstream/graph.js';
import { UpstreamError } from '../src/errors.js';
import { BadUserInputError } from '../src/errors.js';
import { rejectionOf } from './helpers/rejection.js';
import { startEmulatorForFile } from './helpers/emulator-fixtures.js';

/** Batch reads of every property of each id. */
const byIds = (ids: readonly string[]) => ids.map((id) => ({ id }));

const emulator = startEmulatorForFile();
let transport: UpstreamTransport;
const sleeps: number[] = [];

beforeEach(() => {
  emulator.reset();
  sleeps.length = 0;
  transport = createUpstreamTransport({
    timeoutMs: 300,
    deadlineMs: 3000,
    retryBaseMs: 1,
    retryMaxDelayMs: 5,
    circuitBreaker: false,
    sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, ms))),
  });
});
afterEach(() => transport.close());

function makeCaller(idempotencyKey?: string): UpstreamCaller {
  return {
    correlationId: randomUUID(),
    getToken: (service) =>
      service === 'partner-center'
        ? emulator.mintToken({ scp: 'user_impersonation', audience: PARTNER_CENTER_RESOURCE })
        : emulator.mintToken({ scp: 'ExternalUserProfile.ReadWrite.All', audience: GRAPH_RESOURCE }),
    idempotency: idempotencyKey ? { tenantId: seedData.partnerTenantId, objectId: seedData.devUserObjectId, key: idempotencyKey } : undefined,
  };
}
const pc = (caller = makeCaller()) => createPartnerCenterClient({ transport, baseUrl: emulator.url, caller, cursorKey: 'k' });
const graph = (caller = makeCaller()) =>
  createGraphClient({ transport, baseUrl: emulator.url, externalUserProfilesAvailable: true, cloudName: 'global', caller, cursorKey: 'k' });

const customer = () => seedData.customers.find((c) => c.userIds.length >= 3)!;

describe('Partner Center through the emulator', () => {
  it('reads and writes the support profile (PUT on the seed path)', async () => {
    const current = await pc().getSupportProfile();
    expect(current.email).toBe(seedData.supportProfile.email);
    const updated = await pc().putSupportProfile({ ...current, website: 'https://support.example.com' });
    expect(updated.website).toBe('https://support.example.com');
    expect(emulator.requests({ service: 'partner-center', method: 'PUT' }).map((r) => r.path)).toEqual(['/v1/profiles/supportprofile']);
  });

  it('429 then success is one logical call that waits the Retry-After', async () => {
    emulator.injectFault({ method: 'GET', path: '/v1/profiles/support', status: 429, retryAfter: '0.05' });
    await pc().getSupportProfile();
    expect(emulator.requests({ service: 'partner-center' }).map((r) => r.status)).toEqual([429, 200]);
    expect(sleeps).toEqual([50]);
  });

  it('503 on a PATCH then success: both tries carry the same MS-RequestId', async () => {
    const c = customer();
    emulator.injectFault({ method: 'PATCH', path: '/v1/customers/*/users/*', status: 503, retryAfter: '0.01' });
    const user = await pc().patchCustomerUser(c.id, c.userIds[0]!, { displayName: 'Renamed' });
    expect(user.displayName).toBe('Renamed');
    const tries = emulator.requests({ service: 'partner-center', method: 'PATCH' });
    expect(tries.map((r) => r.status)).toEqual([503, 200]);
    expect(tries[1]!.headers['ms-requestid']).toBe(tries[0]!.headers['ms-requestid']);
  });

  it('a resent mutation with the same Idempotency-Key is not applied twice', async () => {
    const c = customer();
    const uid = c.userIds[1]!;
    const first = await pc(makeCaller('key-1')).patchCustomerUser(c.id, uid, { displayName: 'First' });
    await pc(makeCaller('key-2')).patchCustomerUser(c.id, uid, { displayName: 'Second' });
    // The client lost the first answer and resends it: Partner Center replays, nothing is re-applied.
    const resent = await pc(makeCaller('key-1')).patchCustomerUser(c.id, uid, { displayName: 'First' });
    expect(resent).toEqual(first);
    expect((await pc().getCustomerUser(c.id, uid)).displayName).toBe('Second');
  });

  it('persistent 500 → UPSTREAM_UNAVAILABLE with the upstream request id', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', status: 500, times: Infinity });
    const err = await rejectionOf<UpstreamError>(pc().getSupportProfile());
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 500 });
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('403 with a Partner Center body → FORBIDDEN carrying the upstream code', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', status: 403, body: { code: 20002, description: 'No relationship', data: [], source: 'PartnerFD' } });
    const err = await rejectionOf<UpstreamError>(pc().getSupportProfile());
    expect(err).toMatchObject({ code: 'FORBIDDEN', upstreamCode: '20002', message: 'No relationship' });
  });

  it('a connection reset and a try timeout are retried', async () => {
    emulator.injectFault({ path: '/v1/profiles/support', reset: true });
    emulator.injectFault({ path: '/v1/profiles/support', delayMs: 1000 });
    await pc().getSupportProfile();
    // The timed-out try is not in the emulator's log (it records on answer); MS-CV counts the tries.
    const recorded = emulator.requests({ service: 'partner-center' });
    expect(recorded.map((r) => r.status)).toEqual([0, 200]);
    expect(recorded[1]!.headers['ms-cv']).toMatch(/\.3$/);
    expect(recorded[1]!.headers['ms-requestid']).toBe(recorded[0]!.headers['ms-requestid']);
  });

  it('pages the users of a customer with opaque cursors', async () => {
    const c = customer();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await pc().listCustomerUsers(c.id, { size: 2, cursor });
      seen.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(c.userIds);
  });

  it('refuses path-trick ids with nothing sent', async () => {
    const c = customer();
    for (const uid of ['../../profiles/support', `${c.userIds[0]}%2f..`, 'x/y']) {
      expect(await rejectionOf<UpstreamError>(pc().getCustomerUser(c.id, uid))).toBeInstanceOf(BadUserInputError);
    }
    expect(emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });
});

describe('Graph through the emulator', () => {
  const ids = () => seedData.externalUserProfileIds;

  it('batch-reads profiles aligned with the ids, a throttled sub-request retried alone', async () => {
    const wanted = ids().slice(0, 5);
    emulator.injectFault({ method: 'GET', path: `/beta/directory/externalUserProfiles/${wanted[2]}`, status: 429, retryAfter: '0.05' });
    const results = await graph().batchGetExternalUserProfiles(byIds([...wanted, 'does-not-exist']));
    expect(results.slice(0, 5).map((r) => (r as { id: string }).id)).toEqual(wanted);
    expect(results[5]).toMatchObject({ code: 'NOT_FOUND' });
    const batches = emulator.requests({ service: 'graph', method: 'POST', path: '/beta/$batch' });
    expect(batches).toHaveLength(2);
    expect(batches[1]!.body).toMatchObject({ requests: [{ url: `/directory/externalUserProfiles/${wanted[2]}` }] });
    expect(sleeps).toEqual([50]);
  });

  it('pages every profile through nextLink cursors, and PATCH (204) resolves', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await graph().listExternalUserProfiles({ top: 7, cursor });
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids());
    await expect(graph().patchExternalUserProfile(ids()[0]!, { jobTitle: 'Engineer' })).resolves.toBeUndefined();
    expect((await graph().getExternalUserProfile(ids()[0]!)).jobTitle).toBe('Engineer');
  });
});
