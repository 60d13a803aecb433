/**
 * Trusted documents rolled out safely (issue 28, item 5): the manifest `npm run persisted-manifest`
 * writes from the client documents in examples/operations/ (Apollo's own generator), the log-unknown
 * step (`PERSISTED_QUERIES=allow` + `PERSISTED_QUERIES_LOG_UNKNOWN=true`: unknown documents run, are
 * logged once per hash per hour and counted), and `only` accepting what Apollo Client sends for those
 * documents, with Apollo Client's persisted queries link built from the same manifest.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { parse, print } from 'graphql';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { seedData } from '../src/emulator/index.js';
import { manifestForm } from '../src/plugins/persisted-queries.js';
import { createUnknownDocumentReporter } from '../src/plugins/unknown-documents.js';
import { ClientNameLimiter } from '../src/plugins/metrics/metrics.js';
import { MeDocument, ProfilesDocument, SupportDocument, UsersDocument } from '../examples/generated/graphql.js';
import { startStack, type Stack } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MANIFEST = join(root, 'examples', 'persisted-query-manifest.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/**
 * Apollo's persisted-query-lists is CommonJS requiring Apollo Client's ES modules: imported once Apollo
 * Client is loaded, not beside it (Jest refuses the require in the middle of the import graph).
 */
const persistedQueryLists = () => import('@apollo/persisted-query-lists');

interface Manifest {
  format: string;
  version: number;
  operations: Array<{ id: string; name: string; type: string; body: string }>;
}
const committed = (): Manifest => JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;

/** Unknown to the manifest, with literals that must never reach the log. */
const UNKNOWN = `query LookupUser { customerUser(customerId: "${seedData.customers[0]!.id}", userId: "${seedData.customers[0]!.userIds[0]}") { id displayName } }`;
const CLIENT = { 'apollographql-client-name': 'partner-portal-web', 'apollographql-client-version': '3.1.4' };

async function post(stack: Stack, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: any }> } };
}

const logLines = (stack: Stack) => stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
const unknownLines = (stack: Stack) => logLines(stack).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('document not in the persisted query manifest'));

async function unknownCounts(stack: Stack): Promise<Record<string, number>> {
  const families = parsePrometheusTextFormat(await (await fetch(stack.metricsUrl!)).text());
  const family = families.find((f) => f.name === 'gateway_persisted_queries_unknown_total');
  expect(family).toBeDefined();
  return Object.fromEntries(family!.metrics.map((m) => [(m.labels as Record<string, string>).client_name, Number(m.value)]));
}

describe('npm run persisted-manifest', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'manifest-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is current: Apollo\'s generator on examples/operations/ writes the committed examples/persisted-query-manifest.json', () => {
    const repoConfig = JSON.parse(readFileSync(join(root, 'persisted-query-manifest.config.json'), 'utf8')) as { documents: string[]; output: string };
    expect(repoConfig).toEqual({ documents: ['examples/operations/*.graphql'], output: 'examples/persisted-query-manifest.json' });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ ...repoConfig, output: join(dir, 'manifest.json') }));
    const cli = join(root, 'node_modules', '@apollo', 'generate-persisted-query-manifest', 'cli.js');
    const result = spawnSync(process.execPath, [cli, '--config', config], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toEqual(committed());
  }, 90_000);

  it('holds every client document as Apollo Client sends it (__typename added), each id the SHA-256 of its body', () => {
    const manifest = committed();
    expect(manifest).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    expect(manifest.operations.map((o) => o.name).sort()).toEqual(['Me', 'MoveProfile', 'Profile', 'Profiles', 'RenameUser', 'SetSupportEmail', 'Support', 'Users']);
    for (const operation of manifest.operations) {
      expect(operation.id).toBe(sha256(operation.body));
      expect(operation.body).toContain('__typename');
    }
  });

  it('prints a document as the generator does (manifestForm matches @apollo/persisted-query-lists)', async () => {
    const { sortTopLevelDefinitions } = await persistedQueryLists();
    const document = parse('fragment Z on Viewer { kind } query B { viewer { ...Z } } fragment A on Viewer { name } query A2 { viewer { ...A } }');
    expect(manifestForm(document)).toBe(print(sortTopLevelDefinitions(document)));
  });
});

describe('PERSISTED_QUERIES=allow with PERSISTED_QUERIES_LOG_UNKNOWN=true', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ metrics: true, env: { PERSISTED_QUERIES: 'allow', PERSISTED_QUERIES_MANIFEST: MANIFEST, PERSISTED_QUERIES_LOG_UNKNOWN: 'true' } });
  });
  afterAll(() => stack?.close());

  it('runs an unknown document, logs it once per hash (hash, operation, client; no literal) and counts every run', async () => {
    const before = (await unknownCounts(stack))['partner-portal-web'] ?? 0;
    for (let i = 0; i < 3; i++) {
      const { status, body } = await post(stack, { query: UNKNOWN }, CLIENT);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.customerUser.id).toBe(seedData.customers[0]!.userIds[0]);
    }
    const lines = unknownLines(stack).filter((l) => l.documentHash === sha256(UNKNOWN));
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, documentHash: sha256(UNKNOWN), operationName: 'LookupUser', clientName: 'partner-portal-web', clientVersion: '3.1.4', outcome: 'ran' }),
    ]);
    const log = stack.logs.join('\n');
    expect(log).not.toContain(seedData.customers[0]!.id);
    expect(log).not.toContain('displayName }');
    expect((await unknownCounts(stack))['partner-portal-web']).toBe(before + 3);
  });

  it('takes the APQ hash as the document\'s: an unknown document registered by APQ is logged under the hash the client sent', async () => {
    const query = 'query ApqOnly { viewer { authenticated } }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    expect((await post(stack, { extensions })).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(stack, { query, extensions })).body.data).toEqual({ viewer: { authenticated: true } });
    expect((await post(stack, { extensions })).body.data).toEqual({ viewer: { authenticated: true } });
    expect(unknownLines(stack).filter((l) => l.documentHash === sha256(query))).toEqual([expect.objectContaining({ operationName: 'ApqOnly', outcome: 'ran' })]);
    expect((await unknownCounts(stack)).none).toBeGreaterThanOrEqual(2);
  });

  it('neither logs nor counts the manifest\'s documents, by id or sent in full as Apollo Client sends them', async () => {
    const counts = await unknownCounts(stack);
    const lines = unknownLines(stack).length;
    const client = new ApolloClient({
      link: new HttpLink({ uri: `${stack.url}/graphql`, headers: { authorization: `Bearer ${stack.token}` } }),
      cache: new InMemoryCache(),
      clientAwareness: { name: 'known-client', version: '1' },
    });
    try {
      expect((await client.query({ query: MeDocument })).data?.viewer.authenticated).toBe(true);
      expect((await client.query({ query: SupportDocument })).data?.supportProfile.id).toBeDefined();
    } finally {
      client.stop();
    }
    const me = committed().operations.find((o) => o.name === 'Me')!;
    expect((await post(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: me.id } } })).body.data.viewer.authenticated).toBe(true);
    expect(unknownLines(stack)).toHaveLength(lines);
    expect(await unknownCounts(stack)).toEqual(counts);
  });
});

describe('PERSISTED_QUERIES=only with the generated manifest', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { PERSISTED_QUERIES: 'only', PERSISTED_QUERIES_MANIFEST: MANIFEST } });
  });
  afterAll(() => stack?.close());

  /** Apollo Client with the persisted queries link, its ids from the manifest (the documented web setup). */
  async function manifestClient(fetchImpl: typeof fetch = fetch) {
    const { generatePersistedQueryIdsFromManifest } = await persistedQueryLists();
    const manifest = committed();
    return new ApolloClient({
      link: new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })).concat(
        new HttpLink({ uri: `${stack.url}/graphql`, headers: { authorization: `Bearer ${stack.token}` }, fetch: fetchImpl }),
      ),
      cache: new InMemoryCache(),
    });
  }

  it('runs the client documents through the persisted queries link, sending only their ids', async () => {
    const bodies: string[] = [];
    const client = await manifestClient(async (input, init) => {
      bodies.push(String(init?.body));
      return fetch(input, init);
    });
    try {
      expect((await client.query({ query: MeDocument })).data?.viewer.kind).toBe('DELEGATED');
      expect((await client.query({ query: ProfilesDocument })).data?.externalUserProfiles.nodes.length).toBeGreaterThan(0);
      const users = await client.query({ query: UsersDocument, variables: { customerId: seedData.customers[0]!.id } });
      expect(users.data?.customerUsers.nodes.length).toBeGreaterThan(0);
    } finally {
      client.stop();
    }
    expect(bodies).toHaveLength(3);
    for (const body of bodies) {
      const sent = JSON.parse(body) as { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } };
      expect(sent.query).toBeUndefined();
      expect(committed().operations.map((o) => o.id)).toContain(sent.extensions?.persistedQuery?.sha256Hash);
    }
  });

  it('runs them sent in full by an Apollo Client without the link, and by the default persisted queries link (hash of the printed document)', async () => {
    const http = new ApolloClient({ link: new HttpLink({ uri: `${stack.url}/graphql`, headers: { authorization: `Bearer ${stack.token}` } }), cache: new InMemoryCache() });
    const hashing = new ApolloClient({
      link: new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: `${stack.url}/graphql`, headers: { authorization: `Bearer ${stack.token}` } })),
      cache: new InMemoryCache(),
    });
    try {
      for (const client of [http, hashing]) {
        expect((await client.query({ query: MeDocument })).data?.viewer.authenticated).toBe(true);
        expect((await client.query({ query: SupportDocument })).data?.supportProfile.id).toBeDefined();
      }
    } finally {
      http.stop();
      hashing.stop();
    }
  });

  it('refuses a document that is not in the manifest, before any upstream call', async () => {
    stack.emulator.clearRequests();
    const { status, body } = await post(stack, { query: UNKNOWN });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    // The default link: the hash is unknown, it resends the document in full, which is refused.
    const client = new ApolloClient({
      link: new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: `${stack.url}/graphql`, headers: { authorization: `Bearer ${stack.token}` } })),
      cache: new InMemoryCache(),
    });
    try {
      await expect(client.query({ query: gql`query NotInManifest { viewer { authenticated } }` })).rejects.toThrow(/only runs operations from its persisted query manifest/);
    } finally {
      client.stop();
    }
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });
});

describe('the unknown-document reporter', () => {
  const logger = () => {
    const lines: Array<Record<string, unknown>> = [];
    return { lines, log: { warn: (fields: Record<string, unknown>, msg: string) => void lines.push({ ...fields, msg }) } as never };
  };

  it('logs a hash once an hour, and counts every report', () => {
    let now = 1_000_000;
    const { lines, log } = logger();
    const counted: Array<string | undefined> = [];
    const report = createUnknownDocumentReporter({ log, count: (name) => counted.push(name), now: () => now });
    const doc = { hash: 'a'.repeat(64), operationName: 'Q', clientName: 'web', outcome: 'ran' as const };
    report(doc);
    now += 59 * 60_000;
    report(doc);
    report({ ...doc, hash: 'b'.repeat(64) });
    expect(lines.map((l) => l.documentHash)).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
    now += 60_000;
    report(doc);
    expect(lines.map((l) => l.documentHash)).toEqual(['a'.repeat(64), 'b'.repeat(64), 'a'.repeat(64)]);
    expect(counted).toEqual(['web', 'web', 'web', 'web']);
  });

  it('remembers at most maxHashes hashes (the oldest line first forgotten)', () => {
    const { lines, log } = logger();
    const report = createUnknownDocumentReporter({ log, maxHashes: 2, now: () => 0 });
    for (const hash of ['a', 'b', 'c', 'a', 'c']) report({ hash, outcome: 'ran' });
    expect(lines.map((l) => l.documentHash)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('bounds the client_name label like operation names: the first distinct names, then other; none without one', () => {
    const names = new ClientNameLimiter(2);
    expect([undefined, 'web', 'ios', 'web', 'android', 'bad name'].map((n) => names.label(n))).toEqual(['none', 'web', 'ios', 'web', 'other', 'other']);
  });
});
