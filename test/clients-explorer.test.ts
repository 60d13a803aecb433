/**
 * The explorer on `GET /graphql` (issue 9): served from the package's own files, nothing from a CDN,
 * the dev token prefilled on the emulator. The plain-HTTP checks run everywhere; the headless-Chromium
 * check runs `scripts/explorer-screenshot.mjs` where Chromium is installed, and always in CI (test/helpers/chromium.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { EXPLORER_ASSETS_PATH, prefersHtml } from '../src/plugins/explorer.js';
import { CHROMIUM, describeWithChromium } from './helpers/chromium.js';
import { startMain } from './helpers/main-process.js';
import { startStackForFile } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
/** Any absolute or protocol-relative URL. */
const ABSOLUTE_URL = /(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i;

describe('explorer over HTTP', () => {
  const stack = startStackForFile({ env: { LOG_LEVEL: 'silent' }, explorer: { defaultHeaders: { Authorization: 'Bearer dev-token-for-the-test' } } });
  let url: string;
  beforeAll(() => {
    url = stack.url;
  });

  const page = () => fetch(`${url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });

  it('serves the explorer page to a browser on GET /graphql, not cached, with a same-origin CSP', async () => {
    const response = await page();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(await response.text()).toContain('<div id="ruru-root">');
  });

  it('prefills the default headers (the dev token on the emulator)', async () => {
    const html = await (await page()).text();
    expect(html).toContain('Bearer dev-token-for-the-test');
  });

  it('references no other host: no CDN, no absolute URL at all', async () => {
    const html = await (await page()).text();
    expect(html).not.toMatch(ABSOLUTE_URL);
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs|esm\.sh|apollographql/i);
  });

  it('serves every asset the page references, from this server', async () => {
    const html = await (await page()).text();
    const referenced = new Set<string>();
    for (const pattern of [/(?:href|src)="([^"]+)"/g, /from "([^"]+)"/g]) {
      for (const match of html.matchAll(pattern)) if (!match[1]!.startsWith('data:')) referenced.add(match[1]!);
    }
    // Monaco's web workers, loaded by file name relative to the assets path.
    expect(html).toContain(`new URL("${EXPLORER_ASSETS_PATH}" + file`);
    for (const match of html.matchAll(/worker\("([^"]+)"\)/g)) referenced.add(`${EXPLORER_ASSETS_PATH}${match[1]}`);
    expect([...referenced].sort()).toEqual(
      expect.arrayContaining([`${EXPLORER_ASSETS_PATH}ruru.css`, `${EXPLORER_ASSETS_PATH}ruru.js`, `${EXPLORER_ASSETS_PATH}editorWorker.js`]),
    );
    for (const path of referenced) {
      expect(path.startsWith('/')).toBe(true);
      const response = await fetch(new URL(path, url));
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      const body = await response.text();
      // Nothing they load comes from elsewhere either: no remote import, worker script or stylesheet url().
      expect(body).not.toMatch(/\bimport\s*\(\s*["'`]https?:|\bfrom\s*["'`]https?:|importScripts\(\s*["'`]https?:|url\(\s*["']?https?:/);
    }
  });

  it("serves every file of ruru's bundle (the chunks ruru.js imports on demand)", async () => {
    const require = createRequire(import.meta.url);
    const staticDir = join(require.resolve('ruru'), '..', '..', 'static'); // ruru/dist/index.js -> ruru/static
    const files = readdirSync(staticDir).filter((f) => /\.(js|css|ttf)$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const response = await fetch(`${url}${EXPLORER_ASSETS_PATH}${file}`);
      expect({ file, status: response.status }).toEqual({ file, status: 200 });
      expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(join(staticDir, file)))).toBe(true);
    }
  });

  it('answers an unknown asset 404 and does not serve source maps', async () => {
    expect((await fetch(`${url}${EXPLORER_ASSETS_PATH}nope.js`)).status).toBe(404);
    expect((await fetch(`${url}${EXPLORER_ASSETS_PATH}ruru.js.map`)).status).toBe(404);
  });

  it('revalidates assets with their ETag', async () => {
    const first = await fetch(`${url}${EXPLORER_ASSETS_PATH}ruru.css`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const second = await fetch(`${url}${EXPLORER_ASSETS_PATH}ruru.css`, { headers: { 'if-none-match': etag! } });
    expect(second.status).toBe(304);
  });

  it('gives GraphQL clients GraphQL, not the page', async () => {
    const response = await fetch(`${url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/graphql-response+json, application/json', 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('prefersHtml', () => {
  it.each([
    [BROWSER_ACCEPT, true],
    ['text/html', true],
    ['application/json', false],
    ['application/graphql-response+json, application/json;q=0.9', false],
    ['*/*', false],
    ['text/html;q=0.5, application/json', false],
    ['application/json;q=0.5, text/html', true],
    [undefined, false],
  ])('%s -> %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe('explorer from `npm start` (dist/src/main.js on the emulator)', () => {
  it('opens with the dev token printed at start-up already in its headers', async () => {
    const main = startMain({ LOG_LEVEL: 'silent' });
    try {
      await main.waitFor(/Bearer [\w.-]+"\}/, 20_000);
      const output = main.stdout();
      const base = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      const token = /"Bearer ([\w.-]+)"\}/.exec(output)?.[1];
      expect(base && token).toBeTruthy();
      const html = await (await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } })).text();
      expect(html).toContain(`Bearer ${token}`);
    } finally {
      await main.stop();
    }
  });
});

const chromium = CHROMIUM;
describeWithChromium('explorer in headless Chromium, with no network but the gateway', () => {
  it('loads, runs the default query with the prefilled dev token, and requests nothing from another host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'explorer-shot-'));
    try {
      const out = join(dir, 'explorer.png');
      const result = spawnSync(process.execPath, ['scripts/explorer-screenshot.mjs', '--out', out, '--chromium', chromium], {
        cwd: root,
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout) as { foreignRequests: number; result: string };
      expect(report.foreignRequests).toBe(0);
      expect(report.result).toContain('"authenticated": true');
      // A PNG, and not a blank one.
      const png = readFileSync(out);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeGreaterThan(20_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
