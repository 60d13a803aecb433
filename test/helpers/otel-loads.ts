/**
 * What the built gateway loads of OpenTelemetry, seen from a process of its own (so nothing this test
 * process loaded counts): a resolve hook records every `@opentelemetry/*` package resolved, by name.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { repoRoot } from './main-process.js';

/**
 * The prelude: `loaded` (the Set of package names) and `startGateway(env)`, a gateway of dist/ with
 * `UPSTREAM=emulator` config pointed at a stub emulator address where nothing listens, logging nothing;
 * it resolves to `{ gateway, url }`.
 */
const PRELUDE = `
  import { registerHooks } from 'node:module';
  const loaded = new Set();
  registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); if (r.url.includes('/@opentelemetry/')) loaded.add(r.url.replace(/.*\\/@opentelemetry\\/([^/]+)\\/.*/, '$1')); return r; } });
  await import('reflect-metadata');
  const { loadConfig, withEmulator } = await import('./dist/src/config.js');
  const { createLogger } = await import('./dist/src/logger.js');
  const { createGateway } = await import('./dist/src/server.js');
  const emulator = { url: 'http://127.0.0.1:9', issuerTemplate: 'http://127.0.0.1:9/{tenantid}/v2.0', jwksUrl: 'http://127.0.0.1:9/keys', audience: 'api://gateway', publicKeys: [] };
  const startGateway = async (env) => {
    const gateway = await createGateway(withEmulator(loadConfig(env), emulator), { logger: createLogger({ level: 'silent' }) });
    return { gateway, url: await gateway.listen() };
  };
`;

/** Runs the prelude and then `body` (an ES module's code; `process.argv[1]` is the first of `args`) in a new Node process. */
export function runRecordingOtelLoads(body: string, args: readonly string[] = []): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--input-type=module', '-e', PRELUDE + body, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 30_000,
  });
}
