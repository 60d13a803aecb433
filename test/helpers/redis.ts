/**
 * A real, throwaway Redis for tests: Debian's `redis-server` on an ephemeral loopback port, persistence
 * off (`--save '' --appendonly no`), its working directory a temporary folder; stopped (and removable,
 * restartable on the same port) by the test.
 *
 * Without `/usr/bin/redis-server`, the Redis tests are skipped with one loud line saying how to install
 * it, so `npm test` still passes for a newcomer; in CI (`CI` set) a missing server fails instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** True when the Redis tests can run here. */
export const redisAvailable = existsSync(REDIS_SERVER);

let warned = false;

/**
 * `describe` when redis-server is installed; otherwise `describe.skip` after one loud line, except in CI,
 * where a missing server is an error (the Redis tests are mandatory there).
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisAvailable) return describe(name, body);
  if (process.env.CI) {
    throw new Error(`${REDIS_SERVER} is missing, and the Redis tests are mandatory in CI (.ci/run installs it: apt-get install -y redis-server)`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`\n!!! SKIPPED: Redis tests (multi-replica state) need ${REDIS_SERVER}: install it with  sudo apt-get install -y redis-server\n\n`);
  }
  describe.skip(name, body);
}

/** A running redis-server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: persistence is off). */
  start(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: a Redis that accepts connections but never answers. */
  pause(): void;
  resume(): void;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Options of `startRedis`. */
export interface StartRedisOptions {
  /** `--requirepass`: clients must authenticate. @default none */
  password?: string;
}

/** Starts redis-server on a free loopback port and resolves once it accepts connections. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', '--daemonize', 'no'];
    if (options.password) args.push('--requirepass', options.password);
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout!.off('data', onData);
          proc.stdout!.resume();
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.resume();
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
    });
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
