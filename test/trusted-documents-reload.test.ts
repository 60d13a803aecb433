/**
 * The persisted query manifest is read again on SIGHUP to the gateway process (issue 28, item 5), without
 * a restart: a document added to the file runs from then on with `PERSISTED_QUERIES=only`, and a file
 * that is not a manifest keeps the manifest in force, with an error in the log.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMain, type MainProcess } from './helpers/main-process.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const FIRST = 'query First { viewer { authenticated } }';
const SECOND = 'query Second { viewer { authenticated kind } }';
const manifestOf = (...bodies: string[]) =>
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: bodies.map((body) => ({ id: sha256(body), name: /query (\w+)/.exec(body)![1], type: 'query', body })),
  });

describe('SIGHUP reloads PERSISTED_QUERIES_MANIFEST', () => {
  let dir: string;
  let path: string;
  let gateway: MainProcess;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'manifest-reload-'));
    path = join(dir, 'manifest.json');
    writeFileSync(path, manifestOf(FIRST));
    gateway = startMain({ PERSISTED_QUERIES: 'only', PERSISTED_QUERIES_MANIFEST: path });
    url = await gateway.listening();
  }, 60_000);
  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null) await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (query: string) => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
    return { status: response.status, code: body.errors?.[0]?.extensions?.code, data: body.data };
  };
  /** Sends SIGHUP and waits for the log line with `message` (each appears once in this test). */
  const hangUp = async (message: string) => {
    gateway.child.kill('SIGHUP');
    await gateway.waitFor(new RegExp(`"msg":"${message}"`));
  };

  it('runs a document added to the file after SIGHUP, and keeps the manifest when the file turns bad', async () => {
    expect(await run(FIRST)).toEqual({ status: 200, code: undefined, data: { viewer: { authenticated: false } } });
    expect(await run(SECOND)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });

    writeFileSync(path, manifestOf(FIRST, SECOND));
    await hangUp('persisted query manifest reloaded');
    expect(await run(SECOND)).toEqual({ status: 200, code: undefined, data: { viewer: { authenticated: false, kind: null } } });

    writeFileSync(path, '{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [ oops');
    await hangUp('persisted query manifest not reloaded: keeping the previous one');
    expect(gateway.stdout()).toMatch(/"level":50[^\n]*PERSISTED_QUERIES_MANIFEST is not valid JSON/);
    expect(await run(FIRST)).toMatchObject({ status: 200, code: undefined });
    expect(await run(SECOND)).toMatchObject({ status: 200, code: undefined });

    // Still the same process: it stops as usual.
    expect(gateway.child.exitCode).toBeNull();
    expect(await gateway.stop()).toBe(0);
  }, 60_000);
});
