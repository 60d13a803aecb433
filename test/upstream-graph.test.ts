/** The Graph client against a throwaway local server: ids, cloud, paging, and `$batch`. */
import { randomUUID } from 'node:crypto';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamCaller, UpstreamTransport, UpstreamTransportOptions } from '../src/upstream/transport.js';
import { createGraphClient, isValidProfileId } from '../src/upstream/graph.js';
import type { GraphClient } from '../src/upstream/graph.js';
import { UpstreamError } from '../src/errors.js';
import { BadUserInputError, InvalidCursorError, NotAvailableInCloudError } from '../src/errors.js';
import { createPartnerCenterClient } from '../src/upstream/partner-center.js';
import { startTestUpstream } from './helpers/upstream-server.js';
import type { RecordedRequest, Reply, TestUpstream } from './helpers/upstream-server.js';
import { rejectionOf } from './helpers/rejection.js';

/** Batch reads of every property of each id. */
const byIds = (ids: readonly string[]) => ids.map((id) => ({ id }));

let upstream: TestUpstream;
let transport: UpstreamTransport;
const caller: UpstreamCaller = { correlationId: randomUUID(), getToken: async () => 'graph-token' };
const sleeps: number[] = [];

function setup(options: UpstreamTransportOptions = {}): void {
  transport.close();
  transport = createUpstreamTransport({
    timeoutMs: 1000,
    deadlineMs: 3000,
    retryBaseMs: 1,
    retryMaxDelayMs: 5,
    circuitBreaker: false,
    sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, ms))),
    ...options,
  });
}
const client = (overrides: Partial<Parameters<typeof createGraphClient>[0]> = {}): GraphClient =>
  createGraphClient({ transport, baseUrl: upstream.url, externalUserProfilesAvailable: true, cloudName: 'global', caller, cursorKey: 'k', ...overrides });

const profile = (id: string) => ({ id, displayName: `Profile ${id}`, isEnabled: true });

beforeEach(async () => {
  upstream = await startTestUpstream(() => ({ status: 200, body: profile('p1') }));
  sleeps.length = 0;
  transport = createUpstreamTransport({ circuitBreaker: false });
  setup();
});
afterEach(async () => {
  transport.close();
  await upstream.close();
});

describe('single profile', () => {
  it('GETs and PATCHes /beta/directory/externalUserProfiles/{id}; PATCH resolves on 204', async () => {
    expect(await client().getExternalUserProfile('p1')).toEqual(profile('p1'));
    upstream.setHandler(() => ({ status: 204 }));
    await expect(client().patchExternalUserProfile('p1', { displayName: 'X', jobTitle: null, department: undefined })).resolves.toBeUndefined();
    expect(upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /beta/directory/externalUserProfiles/p1', 'PATCH /beta/directory/externalUserProfiles/p1']);
    expect(upstream.requests[1]!.json).toEqual({ displayName: 'X', jobTitle: null });
    expect(upstream.requests[1]!.headers['client-request-id']).toBe(caller.correlationId);
  });

  it('encodes ids that are valid but unusual', async () => {
    upstream.setHandler(() => ({ status: 200, body: profile("o'brien+1@x") }));
    await client().getExternalUserProfile("o'brien+1@x");
    expect(upstream.requests[0]!.url).toBe(`/beta/directory/externalUserProfiles/${encodeURIComponent("o'brien+1@x")}`);
  });

  it.each(['', '.', '..', '...', 'a/b', '../me', 'a?b', 'a#b', 'a%2fb', 'a\\b', 'a b', 'a\nb', 'a\u0000', 'x'.repeat(129)])(
    'refuses id %j without sending anything',
    async (id) => {
      expect(isValidProfileId(id)).toBe(false);
      for (const op of [() => client().getExternalUserProfile(id), () => client().patchExternalUserProfile(id, { displayName: 'x' })]) {
        const err = await rejectionOf(op());
        expect(err).toBeInstanceOf(BadUserInputError);
        expect(err.field).toBe('id');
      }
      expect(upstream.requests).toHaveLength(0);
    },
  );

  it('maps a Graph 404 to NOT_FOUND with the request id', async () => {
    upstream.setHandler(() => ({ status: 404, body: { error: { code: 'Request_ResourceNotFound', message: 'gone', innerError: { 'request-id': 'g-404' } } } }));
    expect(await rejectionOf(client().getExternalUserProfile('p1'))).toMatchObject({ code: 'NOT_FOUND', requestId: 'g-404', upstreamCode: 'Request_ResourceNotFound' });
  });
});

describe('national clouds (docs/upstream.md §2.4)', () => {
  it('every method throws NOT_AVAILABLE_IN_CLOUD before any call', async () => {
    const c = client({ externalUserProfilesAvailable: false, cloudName: 'china' });
    for (const op of [
      () => c.getExternalUserProfile('p1'),
      () => c.listExternalUserProfiles({ top: 5 }),
      () => c.patchExternalUserProfile('p1', {}),
      () => c.batchGetExternalUserProfiles(byIds(['p1', 'p2'])),
    ]) {
      const err = await rejectionOf(op());
      expect(err).toBeInstanceOf(NotAvailableInCloudError);
      expect(err.code).toBe('NOT_AVAILABLE_IN_CLOUD');
    }
    expect(() => c.assertAvailable()).toThrow(NotAvailableInCloudError);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('paging', () => {
  it('wraps @odata.nextLink in an opaque cursor and follows it verbatim', async () => {
    const nextLink = () => `${upstream.url}/beta/directory/externalUserProfiles?$top=1&$skiptoken=abc`;
    upstream.setHandler((r) =>
      r.url.includes('skiptoken') ? { status: 200, body: { value: [profile('p2')] } } : { status: 200, body: { value: [profile('p1')], '@odata.nextLink': nextLink() } },
    );
    const first = await client().listExternalUserProfiles({ top: 1 });
    expect(first.items).toEqual([profile('p1')]);
    expect(first.nextCursor).not.toContain('skiptoken');
    expect(await client().listExternalUserProfiles({ top: 1, cursor: first.nextCursor })).toEqual({ items: [profile('p2')] });
    expect(upstream.requests.map((r) => r.url)).toEqual(['/beta/directory/externalUserProfiles?$top=1', '/beta/directory/externalUserProfiles?$top=1&$skiptoken=abc']);
  });

  it.each([
    ['a foreign host', 'https://evil.example/beta/directory/externalUserProfiles?$skiptoken=x'],
    ['another port', 'http://127.0.0.1:1/beta/directory/externalUserProfiles?$skiptoken=x'],
    ['another path', '{url}/beta/users?$skiptoken=x'],
    ['a dot-segment escape', '{url}/beta/directory/externalUserProfiles/../../users'],
    ['credentials in the URL', 'http://user:pw@{host}/beta/directory/externalUserProfiles'],
    ['a relative link', '/beta/directory/externalUserProfiles?$skiptoken=x'],
  ])('refuses a nextLink to %s', async (_name, link) => {
    upstream.setHandler(() => ({
      status: 200,
      body: { value: [], '@odata.nextLink': link.replace('{url}', upstream.url).replace('{host}', new URL(upstream.url).host) },
    }));
    const err = await rejectionOf(client().listExternalUserProfiles({ top: 1 }));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe('UPSTREAM_ERROR');
  });

  it('refuses a tampered cursor, and a Partner Center cursor', async () => {
    upstream.setHandler(() => ({ status: 200, body: { value: [], '@odata.nextLink': `${upstream.url}/beta/directory/externalUserProfiles?$skiptoken=x` } }));
    const { nextCursor } = await client().listExternalUserProfiles({ top: 1 });
    const CID = '2d6b3f4e-8a4b-4b1c-9b0e-1f2a3b4c5d6e';
    upstream.setHandler(() => ({
      status: 200,
      body: { items: [], links: { next: { uri: `/customers/${CID}/users?seekOperation=Next`, headers: [{ key: 'MS-ContinuationToken', value: 't' }] } } },
    }));
    const pcCursor = (await createPartnerCenterClient({ transport, baseUrl: upstream.url, caller, cursorKey: 'k' }).listCustomerUsers(CID, { size: 1 })).nextCursor!;
    const sent = upstream.requests.length;
    for (const cursor of [`${nextCursor!}x`, pcCursor, 'not-a-cursor']) {
      const err = await rejectionOf(client().listExternalUserProfiles({ top: 1, cursor }));
      expect(err).toBeInstanceOf(InvalidCursorError);
      expect(err.field).toBeUndefined();
    }
    expect(upstream.requests).toHaveLength(sent);
  });

  it('validates $top before sending', async () => {
    for (const top of [0, 1000, 2.5]) expect(await rejectionOf(client().listExternalUserProfiles({ top }))).toBeInstanceOf(BadUserInputError);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('$batch (docs/upstream.md §2.6)', () => {
  type SubRequest = { id: string; method: string; url: string };
  const subRequests = (r: RecordedRequest) => (r.json as { requests: SubRequest[] }).requests;
  const profileIdOf = (s: SubRequest) => decodeURIComponent(s.url.split('/').pop()!);
  const shuffle = <T>(xs: T[]): T[] => [...xs].reverse();

  type SubAnswer = { status: number; headers?: Record<string, string>; body?: unknown };
  /** Answers every sub-request with its profile, in reverse order, with per-id overrides. */
  function batchHandler(special: (profileId: string, call: number) => SubAnswer | undefined = () => undefined): (r: RecordedRequest) => Reply {
    const calls = new Map<string, number>();
    return (r) => {
      if (r.url !== '/beta/$batch') return { status: 200, body: profile(decodeURIComponent(r.url.split('/').pop()!)) };
      const responses = subRequests(r).map((s) => {
        const pid = profileIdOf(s);
        const n = (calls.get(pid) ?? 0) + 1;
        calls.set(pid, n);
        const o = special(pid, n);
        return o ? { id: s.id, status: o.status, headers: o.headers ?? {}, body: o.body } : { id: s.id, status: 200, headers: { 'content-type': 'application/json' }, body: profile(pid) };
      });
      return { status: 200, headers: { 'request-id': 'envelope-1' }, body: { responses: shuffle(responses) } };
    };
  }

  it('answers aligned with the ids, matched by id whatever the answer order', async () => {
    upstream.setHandler(batchHandler());
    const ids = ['a', 'b', 'c', 'd'];
    const results = await client().batchGetExternalUserProfiles(byIds(ids));
    expect(results).toEqual(ids.map(profile));
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.requests[0]!;
    expect(`${req.method} ${req.url}`).toBe('POST /beta/$batch');
    expect(subRequests(req)).toEqual(ids.map((id, i) => ({ id: String(i), method: 'GET', url: `/directory/externalUserProfiles/${id}` })));
  });

  it('splits 45 ids into chunks of at most 20, sent in parallel', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const inner = batchHandler();
    upstream.setHandler(async (r) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((res) => setTimeout(res, 30));
      inFlight--;
      return inner(r);
    });
    const ids = Array.from({ length: 45 }, (_, i) => `id-${i}`);
    const results = await client().batchGetExternalUserProfiles(byIds(ids));
    expect(results).toEqual(ids.map(profile));
    expect(upstream.requests.map((r) => subRequests(r).length).sort((a, b) => a - b)).toEqual([5, 20, 20]);
    expect(maxInFlight).toBe(3);
  });

  it('retries a throttled sub-request alone after the longest Retry-After', async () => {
    upstream.setHandler(
      batchHandler((pid, n): SubAnswer | undefined =>
        pid === 'b' && n === 1
          ? { status: 429, headers: { 'Retry-After': '0.05' }, body: { error: { code: 'TooManyRequests', message: 'Please retry again later.' } } }
          : pid === 'c' && n === 1
            ? { status: 503, headers: { 'Retry-After': '0.02' } }
            : undefined,
      ),
    );
    const results = await client().batchGetExternalUserProfiles(byIds(['a', 'b', 'c', 'd']));
    expect(results).toEqual(['a', 'b', 'c', 'd'].map(profile));
    expect(upstream.requests.map((r) => subRequests(r).map(profileIdOf))).toEqual([['a', 'b', 'c', 'd'], ['b', 'c']]);
    expect(sleeps).toEqual([50]);
  });

  it('gives a still-throttled id RATE_LIMITED with retryAfter, and a 404 NOT_FOUND, for that id only', async () => {
    setup({ maxRetries: 1 });
    upstream.setHandler(
      batchHandler((pid): SubAnswer | undefined =>
        pid === 'b'
          ? { status: 429, headers: { 'retry-after': '0.01' }, body: { error: { code: 'TooManyRequests', message: 'later' } } }
          : pid === 'missing'
            ? { status: 404, headers: { 'request-id': 'sub-404' }, body: { error: { code: 'Request_ResourceNotFound', message: 'not found' } } }
            : undefined,
      ),
    );
    const [a, b, missing] = await client().batchGetExternalUserProfiles(byIds(['a', 'b', 'missing']));
    expect(a).toEqual(profile('a'));
    expect(b).toBeInstanceOf(UpstreamError);
    expect(b).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1, upstreamCode: 'TooManyRequests', requestId: 'envelope-1' });
    expect(missing).toMatchObject({ code: 'NOT_FOUND', requestId: 'sub-404' });
    expect(upstream.requests).toHaveLength(2); // the first batch + one follow-up for 'b'
  });

  it('does not wait for a sub-request Retry-After past the deadline', async () => {
    upstream.setHandler(batchHandler((pid) => (pid === 'b' ? { status: 429, headers: { 'retry-after': '60' } } : undefined)));
    const [, b] = await client().batchGetExternalUserProfiles(byIds(['a', 'b']));
    expect(b).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60 });
    expect(sleeps).toEqual([]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('an envelope failure is the error of every id of that chunk', async () => {
    upstream.setHandler((r) =>
      subRequests(r).length === 20 ? { status: 424, body: { error: { code: 'FailedDependency', message: 'nope' } } } : batchHandler()(r),
    );
    const ids = Array.from({ length: 22 }, (_, i) => `id-${i}`);
    const results = await client().batchGetExternalUserProfiles(byIds(ids));
    expect(results.slice(0, 20).every((r) => r instanceof UpstreamError && r.status === 424 && r.code === 'UPSTREAM_ERROR')).toBe(true);
    expect(results.slice(20)).toEqual([profile('id-20'), profile('id-21')]);
  });

  it('a missing or malformed sub-answer is UPSTREAM_ERROR for that id', async () => {
    upstream.setHandler((r) => ({
      status: 200,
      body: { responses: [{ id: subRequests(r)[0]!.id, status: 200, body: { notAnId: true } }] },
    }));
    const results = await client().batchGetExternalUserProfiles(byIds(['a', 'b']));
    expect(results.map((r) => (r as UpstreamError).code)).toEqual(['UPSTREAM_ERROR', 'UPSTREAM_ERROR']);
  });

  it('refuses invalid ids for themselves, sends one sub-request per distinct id, and a plain GET for one id', async () => {
    upstream.setHandler(batchHandler());
    const results = await client().batchGetExternalUserProfiles(byIds(['a', '../x', 'a', 'b']));
    expect(results[0]).toEqual(profile('a'));
    expect(results[1]).toBeInstanceOf(BadUserInputError);
    expect(results[2]).toEqual(profile('a'));
    expect(subRequests(upstream.requests[0]!).map(profileIdOf)).toEqual(['a', 'b']);

    const single = await client().batchGetExternalUserProfiles(byIds(['solo', 'solo']));
    expect(single).toEqual([profile('solo'), profile('solo')]);
    expect(upstream.requests[1]!.url).toBe('/beta/directory/externalUserProfiles/solo');
    expect(await client().batchGetExternalUserProfiles(byIds([]))).toEqual([]);
  });
});
