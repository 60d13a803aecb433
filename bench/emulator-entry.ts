/**
 * Bench child process: the emulator in test mode (request log on) with a fixed upstream latency, on an
 * ephemeral loopback port. Reports its endpoints to the parent over IPC, then serves until SIGTERM or
 * until the parent goes away.
 *
 * Env: BENCH_LATENCY_MS (default 5).
 */
import { startEmulator, EMULATOR_GATEWAY_AUDIENCE } from '../src/emulator/index.js';
import type { ChildReady } from './lib/children.js';

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? '5');
const emulator = await startEmulator({ host: '127.0.0.1', port: 0, testMode: true, latencyMs });

const ready: ChildReady = {
  kind: 'ready',
  url: emulator.url,
  issuerTemplate: emulator.issuerTemplate,
  jwksUrl: emulator.jwksUrl,
  audience: EMULATOR_GATEWAY_AUDIENCE,
};
process.send?.(ready);

const stop = (): void => {
  void emulator.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
