/**
 * Trusted documents from a real web app (issue 28, item 5): Apollo Client 4 in headless Chromium (ES
 * modules from node_modules through an import map, as test/clients-browser.test.ts loads it) with
 * Apollo's persisted queries link, against a gateway with `PERSISTED_QUERIES=only` and the manifest
 * `npm run persisted-manifest` generated from the same documents. The documents are the client's own
 * (examples/operations/), written as an app writes them; Apollo Client adds `__typename` on its way out.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedData } from '../src/emulator/index.js';
import { describeWithChromium, openPage, type PageBrowser } from './helpers/chromium.js';
import { importMapFor, serveStaticPage, type StaticPage } from './helpers/static-page.js';
import { startStack, type Stack } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const nodeModules = join(root, 'node_modules');
const MANIFEST = join(root, 'examples', 'persisted-query-manifest.json');
const CLIENT = { name: 'partner-portal-web', version: '3.1.4' };

/** The client documents, by operation name, as the app's source holds them. */
function clientDocuments(): Record<string, string> {
  const dir = join(root, 'examples', 'operations');
  const documents: Record<string, string> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    documents[/(?:query|mutation) (\w+)/.exec(text)![1]!] = text;
  }
  return documents;
}

interface PageReport {
  results?: Record<string, unknown>;
  /** Requests that carried a `query` (a document in full), by operation name. */
  sentInFull?: string[];
  refused?: string;
  error?: string;
}

function pageHtml(gatewayUrl: string, token: string): string {
  const importMap = importMapFor(nodeModules, ['@apollo/client']);
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: Array<{ id: string; name: string }> };
  const settings = JSON.stringify({
    uri: `${gatewayUrl}/graphql`,
    token,
    client: CLIENT,
    customerId: seedData.customers[0]!.id,
    documents: clientDocuments(),
    // What an app ships of the manifest to find its ids: names and ids, no bodies.
    ids: manifest.operations.map(({ id, name }) => ({ id, name })),
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Trusted documents page</title><link rel="icon" href="data:,">
<script>
  const report = (body) => fetch('/report', { method: 'POST', body: JSON.stringify(body) });
  addEventListener('error', (event) => report({ error: 'error: ' + (event.message || event.type) }));
  addEventListener('unhandledrejection', (event) => report({ error: 'rejection: ' + String(event.reason && (event.reason.stack || event.reason)) }));
</script>
<script type="importmap">${JSON.stringify(importMap)}</script>
</head><body>
<script type="module" onerror="report({ error: 'module script failed to load' })">
  import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
  import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
  const settings = ${settings};
  const sentInFull = [];
  const recordingFetch = async (input, init) => {
    const body = JSON.parse(init.body);
    if (body.query !== undefined) sentInFull.push(body.operationName);
    return fetch(input, init);
  };
  const http = () => new HttpLink({ uri: settings.uri, headers: { authorization: 'Bearer ' + settings.token }, fetch: recordingFetch });
  const sha256 = async (text) =>
    [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('');
  // The link as Apollo documents it with a manifest (generatePersistedQueryIdsFromManifest of
  // @apollo/persisted-query-lists, which ships as CommonJS only): each operation's id by its name.
  const idsByName = new Map(settings.ids.map(({ id, name }) => [name, id]));
  const fromManifest = {
    generateHash: async (document) => {
      const name = document.definitions.find((d) => d.kind === 'OperationDefinition').name.value;
      if (!idsByName.has(name)) throw new Error('Operation ' + name + ' not found in manifest');
      return idsByName.get(name);
    },
    disable: () => false,
  };
  const client = (options) =>
    new ApolloClient({ link: new PersistedQueryLink(options).concat(http()), cache: new InMemoryCache(), clientAwareness: settings.client });
  try {
    const byManifest = client(fromManifest);
    const byHash = client({ sha256 });
    const results = {};
    results.Me = (await byManifest.query({ query: gql(settings.documents.Me) })).data;
    results.Users = (await byManifest.query({ query: gql(settings.documents.Users), variables: { customerId: settings.customerId } })).data.customerUsers.nodes.length;
    results.SetSupportEmail = (await byManifest.mutate({ mutation: gql(settings.documents.SetSupportEmail) })).data;
    results.Profiles = (await byHash.query({ query: gql(settings.documents.Profiles) })).data.externalUserProfiles.nodes.length;
    results.Support = (await byHash.query({ query: gql(settings.documents.Support) })).data.supportProfile.email;
    let refused;
    try {
      await byHash.query({ query: gql('query NotInManifest { viewer { authenticated } }') });
      refused = 'it ran';
    } catch (error) {
      refused = String(error && error.message);
    }
    await report({ results, sentInFull, refused });
  } catch (error) {
    await report({ error: String(error && (error.stack || error)) });
  }
</script>
</body></html>`;
}

describeWithChromium('Apollo Client with the persisted queries link in headless Chromium, PERSISTED_QUERIES=only', () => {
  let stack: Stack;
  let page: StaticPage;
  let browser: PageBrowser | undefined;
  let profile: string;

  beforeAll(async () => {
    stack = await startStack({ env: { PERSISTED_QUERIES: 'only', PERSISTED_QUERIES_MANIFEST: MANIFEST } });
    page = await serveStaticPage(pageHtml(stack.url, stack.token), nodeModules);
    profile = mkdtempSync(join(tmpdir(), 'trusted-documents-page-'));
  });
  afterAll(async () => {
    await browser?.close();
    await page?.close();
    await stack?.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10 });
  });

  it('runs the manifest\'s documents by id (ids from the manifest, or the SHA-256 of the printed document) and refuses any other', async () => {
    browser = openPage(profile, page.url, page.report);
    const report = (await browser.report) as PageReport;

    expect({ error: report.error, notServed: page.misses }).toEqual({ error: undefined, notServed: [] });
    expect(report.results).toEqual({
      Me: { viewer: { __typename: 'Viewer', authenticated: true, kind: 'DELEGATED', tenantId: seedData.partnerTenantId, permissions: expect.any(Array) } },
      Users: expect.any(Number),
      SetSupportEmail: { updateSupportProfile: expect.objectContaining({ __typename: 'SupportProfile', email: 'help@contoso.example' }) },
      Profiles: expect.any(Number),
      Support: 'help@contoso.example',
    });
    expect(report.results!.Users).toBeGreaterThan(0);
    expect(report.results!.Profiles).toBeGreaterThan(0);
    // Every manifest document went by its id alone; only the refused one was resent in full (after
    // PERSISTED_QUERY_NOT_FOUND), and refused.
    expect(report.sentInFull).toEqual(['NotInManifest']);
    expect(report.refused).toMatch(/only runs operations from its persisted query manifest/);

    const lines = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed' && l.method === 'POST');
    expect(lines.filter((l) => l.status === 200).map((l) => l.operationName)).toEqual(['Me', 'Users', 'SetSupportEmail', 'Profiles', 'Support']);
    expect(lines.every((l) => l.clientName === CLIENT.name)).toBe(true);
  }, 90_000);
});
