#!/usr/bin/env node
/**
 * Proves the explorer works with no network, in a real browser, and saves a screenshot of it.
 *
 *   npm run build && node scripts/explorer-screenshot.mjs [--out docs/explorer.png] [--chromium /usr/bin/chromium]
 *   (or: npm run screenshot:explorer)
 *
 * It starts the built gateway on the embedded emulator (`node dist/src/main.js`, ephemeral ports), opens
 * `GET /graphql` in headless Chromium with every host but 127.0.0.1 unresolvable, waits for the explorer to
 * load the schema, runs the default query (which needs the prefilled dev token to answer
 * `authenticated: true`), checks that every request the page made went to the gateway itself, and writes
 * the PNG. Exit code 0 when all of that held, 1 otherwise (with the reason on stderr).
 *
 * Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages
 * separated by NUL bytes on file descriptors 3 and 4), so no browser-automation package is needed.
 * `test/clients-explorer.test.ts` runs this script where Chromium is installed, and always in CI.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const out = resolve(option('--out', join(root, 'docs', 'explorer.png')));
const chromiumPath = option('--chromium', process.env.CHROMIUM ?? '/usr/bin/chromium');
const TIMEOUT_MS = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `node dist/src/main.js` and resolves to its base URL once it prints it. */
function startGateway() {
  const entry = join(root, 'dist', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: '0', EMULATOR_PORT: '0', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}):\n${output}`)));
  });
  return { child, url };
}

/** A minimal DevTools-protocol client over Chromium's pipe. */
function connect(browser) {
  const writer = browser.stdio[3];
  const reader = browser.stdio[4];
  let nextId = 1;
  const pending = new Map();
  const listeners = [];
  let buffer = Buffer.alloc(0);
  reader.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end;
    while ((end = buffer.indexOf(0)) >= 0) {
      const message = JSON.parse(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + 1);
      if (message.id && pending.has(message.id)) {
        const { resolve: ok, reject, method } = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else ok(message.result);
      } else if (message.method) {
        for (const listener of listeners) listener(message);
      }
    }
  });
  return {
    send(method, params = {}, sessionId) {
      const id = nextId++;
      writer.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
      return new Promise((ok, reject) => pending.set(id, { resolve: ok, reject, method }));
    },
    on(listener) {
      listeners.push(listener);
    },
  };
}

async function main() {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (apt-get install chromium, or pass --chromium)`);
  const gateway = startGateway();
  const profile = mkdtempSync(join(tmpdir(), 'explorer-chromium-'));
  let browser;
  let cdp;
  try {
    const base = await gateway.url;
    const origin = new URL(base).origin;
    browser = spawn(
      chromiumPath,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        // No network but the gateway: any other host name fails to resolve.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
        '--remote-debugging-pipe',
        '--window-size=1440,900',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    browser.stderr.resume(); // Chromium's own diagnostics are not ours to report
    cdp = connect(browser);

    const requested = [];
    const consoleErrors = [];
    let graphqlResponses = 0;
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    const page = (method, params) => cdp.send(method, params, sessionId);
    cdp.on((message) => {
      if (message.method === 'Network.requestWillBeSent') requested.push(message.params.request.url);
      if (message.method === 'Network.responseReceived' && message.params.response.status >= 400) {
        consoleErrors.push(`${message.params.response.status} ${message.params.response.url}`);
      }
      if (message.method === 'Network.responseReceived' && message.params.response.url === `${base}/graphql` && message.params.type !== 'Document') {
        graphqlResponses += 1;
      }
      if (message.method === 'Runtime.exceptionThrown') consoleErrors.push(message.params.exceptionDetails.text);
      if (message.method === 'Log.entryAdded' && message.params.entry.level === 'error') consoleErrors.push(message.params.entry.text);
    });
    await page('Network.enable');
    await page('Page.enable');
    await page('Runtime.enable');
    await page('Log.enable');
    await page('Emulation.setDeviceMetricsOverride', { width: 1440, height: 900, deviceScaleFactor: 1, mobile: false });
    await page('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value: 'light' }] });
    await page('Page.navigate', { url: `${base}/graphql` });

    const evaluate = async (expression) => (await page('Runtime.evaluate', { expression, returnByValue: true })).result.value;
    /** Waits until `condition` (a page expression, or a function here) is true. */
    const waitFor = async (what, condition) => {
      const deadline = Date.now() + TIMEOUT_MS;
      while (Date.now() < deadline) {
        const met = typeof condition === 'function' ? condition() : await evaluate(condition).catch(() => false);
        if (met) return;
        await sleep(200);
      }
      throw new Error(`timed out waiting for ${what}; page errors: ${consoleErrors.join(' | ') || 'none'}`);
    };

    await waitFor('the explorer to render', `!!document.querySelector('.graphiql-execute-button')`);
    // The explorer's first GraphQL request is its introspection query.
    await waitFor('the schema to load', () => graphqlResponses >= 1);
    await sleep(1000);
    await evaluate(`document.querySelector('.graphiql-execute-button').click()`);
    // Monaco renders spaces as no-break spaces.
    const responseText = `(document.querySelector('.graphiql-response')?.innerText ?? '').replace(/\\s+/g, ' ')`;
    await waitFor('the query result', `${responseText}.includes('"authenticated": true')`);
    // Show the docs pane too, for a more telling picture.
    await evaluate(`document.querySelector('[aria-label="Show Documentation Explorer"]')?.click()`);
    await sleep(1000);

    const foreign = requested.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob|about):/.test(url));
    if (foreign.length) throw new Error(`the explorer requested other hosts: ${foreign.join(', ')}`);
    const result = await evaluate(responseText);

    const { data } = await page('Page.captureScreenshot', { format: 'png' });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, Buffer.from(data, 'base64'));
    process.stdout.write(
      `${JSON.stringify({ screenshot: out, origin, requests: requested.length, foreignRequests: 0, result: result.slice(0, 200) })}\n`,
    );
  } finally {
    if (browser && browser.exitCode === null) {
      const exited = new Promise((r) => browser.once('exit', r));
      await Promise.race([cdp?.send('Browser.close').catch(() => undefined), sleep(2000)]);
      await Promise.race([exited, sleep(2000)]);
      if (browser.exitCode === null) browser.kill('SIGKILL');
    }
    if (gateway.child.exitCode === null) gateway.child.kill('SIGTERM');
    await sleep(200);
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`explorer-screenshot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
