/**
 * A real web app against the gateway with no configuration (issue 19): a page served from a localhost
 * origin (its own static server, another port than the gateway's, so every request is cross-origin and
 * preflighted) runs the real Apollo Client 4, loaded as ES modules straight from node_modules through an
 * import map (no bundler), with `clientAwareness`, in headless Chromium. Before the fix its
 * `apollographql-client-name` header was refused by CORS and the page saw only "Failed to fetch".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithChromium, openPage, type PageBrowser } from './helpers/chromium.js';
import { importMapFor, serveStaticPage, type StaticPage } from './helpers/static-page.js';
import { startStack, type Stack } from './helpers/stack.js';

const nodeModules = fileURLToPath(new URL('../node_modules', import.meta.url));
const CLIENT = { name: 'partner-portal-web', version: '3.1.4' };

interface PageReport {
  origin?: string;
  data?: { viewer?: { authenticated?: boolean; kind?: string } };
  error?: string;
}

/** The page: errors and the query's result are posted to its own origin's `/report`. */
function pageHtml(gatewayUrl: string, token: string): string {
  const importMap = importMapFor(nodeModules, ['@apollo/client']);
  const settings = JSON.stringify({ uri: `${gatewayUrl}/graphql`, token, client: CLIENT });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Apollo Client page</title><link rel="icon" href="data:,">
<script>
  const report = (body) => fetch('/report', { method: 'POST', body: JSON.stringify(body) });
  addEventListener('error', (event) => report({ error: 'error: ' + (event.message || event.type) }));
  addEventListener('unhandledrejection', (event) => report({ error: 'rejection: ' + String(event.reason && (event.reason.stack || event.reason)) }));
</script>
<script type="importmap">${JSON.stringify(importMap)}</script>
</head><body>
<script type="module" onerror="report({ error: 'module script failed to load' })">
  import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
  const settings = ${settings};
  const client = new ApolloClient({
    link: new HttpLink({ uri: settings.uri, headers: { authorization: 'Bearer ' + settings.token } }),
    cache: new InMemoryCache(),
    clientAwareness: settings.client,
  });
  try {
    const { data } = await client.query({ query: gql\`query Me { viewer { authenticated kind } }\` });
    await report({ origin: location.origin, data });
  } catch (error) {
    await report({ error: String(error && (error.stack || error)) });
  }
</script>
</body></html>`;
}

describeWithChromium('Apollo Client with clientAwareness in headless Chromium, from a localhost page', () => {
  let stack: Stack;
  let page: StaticPage;
  let browser: PageBrowser | undefined;
  let profile: string;

  beforeAll(async () => {
    stack = await startStack();
    page = await serveStaticPage(pageHtml(stack.url, stack.token), nodeModules);
    profile = mkdtempSync(join(tmpdir(), 'apollo-page-'));
  });
  afterAll(async () => {
    await browser?.close();
    await page.close();
    await stack.close();
    // A helper may still be closing files in the profile as it dies.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10 });
  });

  it('runs a query: the preflight grants the client-awareness headers, and the log line names the client', async () => {
    browser = openPage(profile, page.url, page.report);
    const report = (await browser.report) as PageReport;

    expect({ error: report.error, notServed: page.misses }).toEqual({ error: undefined, notServed: [] });
    expect(report.origin).toMatch(/^http:\/\/localhost:\d+$/);
    expect(report.data?.viewer).toEqual({ __typename: 'Viewer', authenticated: true, kind: 'DELEGATED' });

    const lines = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed');
    // The browser asked first (a cross-origin POST with custom headers), then sent the query.
    expect(lines.some((l) => l.method === 'OPTIONS' && l.status === 204)).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ method: 'POST', status: 200, operationName: 'Me', clientName: CLIENT.name, clientVersion: CLIENT.version }));
  }, 90_000);
});
