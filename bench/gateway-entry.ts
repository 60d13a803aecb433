/**
 * Bench child process: the built gateway exactly as `src/main.ts` starts it (loadConfig → createGateway →
 * listen, pino on stdout at LOG_LEVEL), but against an emulator that runs in ANOTHER process (the bench's,
 * started in test mode so its request log can be read). Of the emulator only its constants module is
 * loaded here, so this process's RSS is the gateway's alone.
 *
 * Every setting comes from the environment, as an operator would give it (NODE_ENV=production,
 * UPSTREAM=microsoft with PARTNER_CENTER_URL, GRAPH_URL, AUTH_*, AZURE_* pointed at the emulator,
 * RATE_LIMIT_PER_MINUTE…: UPSTREAM=emulator is refused in production). Outside production, UPSTREAM=emulator
 * works too: `withEmulator` then fills whatever is left unset from BENCH_EMULATOR_URL, as main.ts does for
 * its own embedded emulator. Reports the listening URL to the parent over IPC.
 */
import 'reflect-metadata';
import { loadConfigOrExit, withEmulator, type Config } from '../src/config.js';
import { EMULATOR_GATEWAY_AUDIENCE } from '../src/emulator/constants.js';
import { createLogger, flushLog } from '../src/logger.js';
import { createGateway } from '../src/server.js';
import type { ChildReady, MemoryReport } from './lib/children.js';

const emulatorUrl = process.env.BENCH_EMULATOR_URL;
if (!emulatorUrl) {
  process.stderr.write('BENCH_EMULATOR_URL is required\n');
  process.exit(1);
}

let config: Config = loadConfigOrExit();
if (config.upstream === 'emulator') {
  config = withEmulator(config, {
    url: emulatorUrl,
    issuerTemplate: `${emulatorUrl}/{tenantid}/v2.0`,
    jwksUrl: `${emulatorUrl}/discovery/v2.0/keys`,
    audience: EMULATOR_GATEWAY_AUDIENCE,
    // The bench never sets an AUTH_ISSUER of its own, so no key of the emulator's needs refusing.
    publicKeys: [],
  });
}

const log = createLogger({ level: config.logLevel });
const gateway = await createGateway(config, { logger: log });
const url = await gateway.listen();
const ready: ChildReady = { kind: 'ready', url };
process.send?.(ready);

// The soak asks for the live heap after a full GC (the gateway runs with --expose-gc then): unlike RSS,
// that does not move with V8's heap sizing, so it tells a leak from a heap that grew its limits.
process.on('message', (message: { kind?: string; gc?: boolean }) => {
  if (message?.kind !== 'memory') return;
  const collected = message.gc === true && typeof gc === 'function';
  if (collected) gc!();
  const report: MemoryReport = { kind: 'memory', gc: collected, ...process.memoryUsage() };
  process.send?.(report);
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void gateway
    .close()
    .catch(() => undefined)
    .finally(async () => {
      await flushLog(log);
      // A normal exit, so `--cpu-prof` writes its profile.
      process.exit(0);
    });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
