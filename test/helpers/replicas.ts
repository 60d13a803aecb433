/**
 * Two gateways sharing one real redis-server and one emulator: the set-up of the several-replicas tests.
 */
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { startRedis, type RedisServer } from './redis.js';
import { startStack, type Stack } from './stack.js';

export interface Replicas {
  readonly redis: RedisServer;
  readonly emulator: Emulator;
  readonly a: Stack;
  readonly b: Stack;
}

/** A redis-server, one emulator, and two gateways sharing both (`env` plus their REDIS_URL); `metrics` turns on each one's /metrics. */
export async function startReplicas(env: Record<string, string>, options: { metrics?: boolean } = {}): Promise<Replicas> {
  const redis = await startRedis();
  const emulator = await startEmulator({ testMode: true });
  const shared = { REDIS_URL: redis.url, ...env };
  const start = () => startStack({ env: shared, emulator, ...(options.metrics ? { metrics: true } : {}) });
  const [a, b] = await Promise.all([start(), start()]);
  return { redis, emulator, a, b };
}

/** Stops what `startReplicas` started (whatever of it did start), the gateways first; Redis is resumed first, should a test have left it paused. */
export async function stopReplicas({ redis, emulator, a, b }: Partial<Replicas>): Promise<void> {
  redis?.resume();
  await Promise.all([a?.close(), b?.close()]);
  await emulator?.close();
  await redis?.close();
}
