import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { createGateway } from '../src/server.js';
import { parsePersistedQueryManifest } from '../src/plugins/persisted-queries.js';
import { PERSISTED_QUERY_HASH_MESSAGE } from '../src/plugins/persisted-query-hash.js';
import { createRedisConnection } from '../src/state/redis-client.js';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.js';
import { startStack, startStackForFile, type Stack } from './helpers/stack.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const SUPPORT = 'query Support { supportProfile { id email } }';
const ME = 'query Me { viewer { authenticated } }';
const OTHER = 'query Other { supportProfile { id telephone } }';
const SET_EMAIL = 'mutation SetEmail { updateSupportProfile(input: { email: "pq@contoso.example" }) { id email } }';

/** Ids as Apollo's manifest generator writes them (SHA-256 of the body), and one hand-written id. */
const manifest = {
  format: 'apollo-persisted-query-manifest',
  version: 1,
  operations: [
    { id: sha256(SUPPORT), name: 'Support', type: 'query', body: SUPPORT },
    { id: 'me-v1', name: 'Me', type: 'query', body: ME },
    { id: 'set-email-v1', name: 'SetEmail', type: 'mutation', body: SET_EMAIL },
  ],
};

let dir: string;
let manifestPath: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pq-'));
  manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A mobile-style GET: the hash (and variables) in the URL, no document. */
async function getByHash(stack: Stack, hash: string) {
  const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
  const response = await fetch(`${stack.url}/graphql?extensions=${extensions}`, {
    headers: { authorization: `Bearer ${stack.token}`, 'apollo-require-preflight': 'true' },
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: any }> } };
}

/** A POST carrying both the document and its hash (APQ registration). */
function register(stack: Stack, query: string) {
  return fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
    body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }),
  });
}

/** A POST carrying only a hash. */
function postByHash(stack: Stack, hash: string) {
  return fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
    body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
  });
}

const upstreamCalls = (stack: Stack) => stack.emulator.requests().filter((r) => r.service === 'partner-center' || r.service === 'graph');

describe('PERSISTED_QUERIES=allow (default): APQ', () => {
  const stack = startStackForFile();

  it('answers an unknown hash PERSISTED_QUERY_NOT_FOUND, then runs it by hash once registered', async () => {
    const first = await getByHash(stack, sha256(OTHER));
    expect(first.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await register(stack, OTHER);
    expect(registered.status).toBe(200);
    const again = await getByHash(stack, sha256(OTHER));
    expect(again.status).toBe(200);
    expect(again.body.data?.supportProfile.id).toEqual(expect.any(String));
  });

  it('refuses a document whose hash does not match', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: ME, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(OTHER) } } }),
    });
    expect(response.status).toBe(400);
  });

  it('answers a wrong hash BAD_REQUEST "provided sha does not match query" (not INTERNAL_SERVER_ERROR), logged below error level', async () => {
    const before = stack.logs.length;
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: ME, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(OTHER) } } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
    expect(body.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }]);
    // pino's error level is 50: a client's mistake is no server error.
    const levels = stack.logs.slice(before).map((line) => (JSON.parse(line) as { level: number }).level);
    expect(levels.filter((level) => level >= 50)).toEqual([]);
  });

  it('answers an unsupported persisted query version BAD_REQUEST, not INTERNAL_SERVER_ERROR', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: ME, extensions: { persistedQuery: { version: 2, sha256Hash: sha256(ME) } } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });
});

/** Hashes a caller chose: Redis protocol bytes and a path, and a hash of 400,000 characters. */
const HOSTILE_HASHES = ['../lock:support-profile:x\r\n*1\r\n$8\r\nFLUSHALL\r\n', 'f'.repeat(400_000)];

/** A POST with these `extensions`, and no document. */
async function postExtensions(stack: Stack, extensions: unknown) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
    body: JSON.stringify({ extensions }),
  });
  return { status: response.status, text: await response.text() };
}

const HASH_REFUSAL = { message: PERSISTED_QUERY_HASH_MESSAGE, extensions: { code: 'BAD_REQUEST' } };

describe('APQ hashes that are not 64 hex digits (never a store key)', () => {
  const stack = startStackForFile();

  it('refuses them over POST with BAD_REQUEST (HTTP 400), without repeating them and with no error in the log', async () => {
    const before = stack.logs.length;
    for (const sha256Hash of [...HOSTILE_HASHES, sha256(ME).slice(1), `${sha256(ME)}0`, 42, null]) {
      const { status, text } = await postExtensions(stack, { persistedQuery: { version: 1, sha256Hash } });
      expect(status).toBe(400);
      expect(JSON.parse(text)).toEqual({ errors: [HASH_REFUSAL] });
    }
    expect((await postExtensions(stack, { persistedQuery: { version: 1 } })).status).toBe(400);
    // With the document too (a registration), the hash is refused before Apollo compares it.
    const registration = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ query: ME, extensions: { persistedQuery: { version: 1, sha256Hash: HOSTILE_HASHES[0] } } }),
    });
    expect(registration.status).toBe(400);
    expect(await registration.json()).toEqual({ errors: [HASH_REFUSAL] });
    const levels = stack.logs.slice(before).map((line) => (JSON.parse(line) as { level: number }).level);
    expect(levels.filter((level) => level >= 50)).toEqual([]);
  });

  it('refuses them in a GET query string alike', async () => {
    for (const hash of [HOSTILE_HASHES[0]!, 'g'.repeat(64), sha256(ME).slice(0, 63)]) {
      const { status, body } = await getByHash(stack, hash);
      expect(status).toBe(400);
      expect(body).toEqual({ errors: [HASH_REFUSAL] });
    }
  });

  it('still looks up 64 hex digits, in either case', async () => {
    expect((await getByHash(stack, sha256(OTHER).toUpperCase())).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await postByHash(stack, sha256(OTHER)).then((r) => r.json()) as any).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describeWithRedis('APQ hashes that are not 64 hex digits, with the registry in Redis', () => {
  let redis: RedisServer;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  /** How many GET and SET commands Redis has run (its own counters): the APQ registry's lookups and registrations. */
  async function registryCommands(): Promise<number> {
    const inspector = await createRedisConnection({ url: redis.url, keyPrefix: '', logger: { info() {}, warn() {} } });
    try {
      const stats = String(await inspector.command(['INFO', 'commandstats']));
      return ['get', 'set'].reduce((sum, name) => sum + Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
    } finally {
      await inspector.close();
    }
  }

  it('never reach Redis as a key', async () => {
    const before = await registryCommands();
    for (const sha256Hash of HOSTILE_HASHES) {
      expect((await postExtensions(stack, { persistedQuery: { version: 1, sha256Hash } })).status).toBe(400);
    }
    expect((await getByHash(stack, HOSTILE_HASHES[0]!)).status).toBe(400);
    expect(await registryCommands()).toBe(before);
    // A well-formed hash is looked up: the counters do move.
    expect((await getByHash(stack, sha256(OTHER))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(await registryCommands()).toBe(before + 1);
  });
});

describe('PERSISTED_QUERIES=allow with a manifest', () => {
  const stack = startStackForFile(() => ({ env: { PERSISTED_QUERIES: 'allow', PERSISTED_QUERIES_MANIFEST: manifestPath } }));

  it("accepts the manifest's ids as persisted query hashes, SHA-256 or not", async () => {
    expect((await getByHash(stack, sha256(SUPPORT))).body.data?.supportProfile.id).toEqual(expect.any(String));
    expect((await getByHash(stack, 'me-v1')).body.data).toEqual({ viewer: { authenticated: true } });
  });

  it('still runs any other document', async () => {
    const { status, body } = await stack.graphql(OTHER);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });
});

describe('PERSISTED_QUERIES=only', () => {
  const stack = startStackForFile(() => ({ env: { PERSISTED_QUERIES: 'only', PERSISTED_QUERIES_MANIFEST: manifestPath } }));
  beforeEach(() => stack.emulator.clearRequests());

  it('runs manifest operations by id', async () => {
    expect((await getByHash(stack, sha256(SUPPORT))).body.data?.supportProfile.id).toEqual(expect.any(String));
    expect((await getByHash(stack, 'me-v1')).body.data).toEqual({ viewer: { authenticated: true } });
  });

  it('runs a manifest document sent in full', async () => {
    const { status, body } = await stack.graphql(SUPPORT);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  it('refuses any other document with BAD_REQUEST and no upstream call', async () => {
    const { status, body } = await stack.graphql(OTHER);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(body.errors?.[0]?.message).toMatch(/PERSISTED_QUERIES=only/);
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('answers an unknown hash PERSISTED_QUERY_NOT_FOUND and lets no one register a new document', async () => {
    expect((await getByHash(stack, sha256(OTHER))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await register(stack, OTHER);
    expect(registered.status).toBe(400);
    expect((await getByHash(stack, sha256(OTHER))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(upstreamCalls(stack)).toEqual([]);
  });

  it('runs a manifest mutation over POST, never over GET', async () => {
    const overGet = await getByHash(stack, 'set-email-v1');
    expect(overGet.status).toBe(405);
    expect(upstreamCalls(stack)).toEqual([]);
    const overPost = await postByHash(stack, 'set-email-v1');
    expect(overPost.status).toBe(200);
    expect(((await overPost.json()) as any).data.updateSupportProfile.email).toBe('pq@contoso.example');
  });
});

describe('PERSISTED_QUERIES=off', () => {
  it('answers a hash PERSISTED_QUERY_NOT_SUPPORTED and runs full documents', async () => {
    const stack = await startStack({ env: { PERSISTED_QUERIES: 'off' } });
    try {
      expect((await getByHash(stack, sha256(ME))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      expect((await stack.graphql(ME)).body.data).toEqual({ viewer: { authenticated: true } });
    } finally {
      await stack.close();
    }
  });
});

describe('manifest validation', () => {
  it('accepts an Apollo persisted query manifest', () => {
    const parsed = parsePersistedQueryManifest(manifest);
    expect(parsed.byId.get('me-v1')).toBe(ME);
    expect(parsed.bodyHashes.has(sha256(SUPPORT))).toBe(true);
  });

  it.each([
    [{ format: 'something-else', version: 1, operations: [] }, /apollo-persisted-query-manifest/],
    [{ format: 'apollo-persisted-query-manifest', version: 2, operations: [] }, /version 1/],
    [{ format: 'apollo-persisted-query-manifest', version: 1 }, /operations/],
    [{ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'x' }] }, /operation 0/],
    [
      { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'x', body: ME }, { id: 'x', body: OTHER }] },
      /twice/,
    ],
  ])('refuses a malformed manifest naming PERSISTED_QUERIES_MANIFEST (%#)', (json, why) => {
    expect(() => parsePersistedQueryManifest(json)).toThrow(ConfigError);
    expect(() => parsePersistedQueryManifest(json)).toThrow(why);
    expect(() => parsePersistedQueryManifest(json)).toThrow(/^PERSISTED_QUERIES_MANIFEST /);
  });

  it('stops start-up when the manifest file is missing', async () => {
    const config = loadConfig({ PERSISTED_QUERIES: 'only', PERSISTED_QUERIES_MANIFEST: join(dir, 'missing.json') });
    await expect(createGateway(config)).rejects.toThrow(/^PERSISTED_QUERIES_MANIFEST cannot be read \(ENOENT\)/);
  });
});
