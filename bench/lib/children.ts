/**
 * Child processes of the bench (emulator, gateway, baseline): forked with an IPC channel, each reports
 * `ChildReady` once it listens. Their stdout goes to /dev/null (the gateway's pino lines are still
 * serialized and written, as in production, just not kept); the tail of stderr is kept for errors.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The gateway child's answer to `{ kind: 'memory', gc }`: `process.memoryUsage()`, after a full GC when asked and exposed. */
export interface MemoryReport {
  kind: 'memory';
  gc: boolean;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** What a child sends once it listens. */
export interface ChildReady {
  kind: 'ready';
  /** Base URL, no trailing slash. */
  url: string;
  issuerTemplate?: string;
  jwksUrl?: string;
  audience?: string;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly ready: ChildReady;
  /** The last few KB of stderr. */
  stderr(): string;
  /** Sends `message` over IPC and resolves with the child's next message of the same `kind`. */
  ask<T extends { kind: string }>(message: { kind: string; [key: string]: unknown }, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL (this child's pid only) if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  /** Built JS module to run. */
  module: string;
  env: Record<string, string>;
  execArgv?: string[];
  /** Run the child pinned to this CPU (`taskset -c <cpu> node …`), when {@link pinning} says it can. */
  cpu?: number;
  /** @default 30000 */
  startTimeoutMs?: number;
}

const STDERR_TAIL = 8 * 1024;

/** The GC probe every child loads first (`--import`), see probe.ts. */
const PROBE = fileURLToPath(new URL('./probe.js', import.meta.url));

/**
 * Whether children can be pinned to `cpu` with taskset: it must exist, and the CPU must be one this
 * process may run on. The reason when not, for the bench's output.
 */
export function pinning(cpu: number): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
    return { ok: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'taskset not found' : `taskset -c ${cpu} failed (no CPU ${cpu} here?)` };
  }
}

export async function startChild(options: StartChildOptions): Promise<Child> {
  const devNull = openSync('/dev/null', 'w');
  let child: ChildProcess;
  try {
    const nodeArgs = ['--import', PROBE, ...(options.execArgv ?? [])];
    // taskset execs node in place: same pid, same IPC descriptor, every thread on that CPU.
    child = fork(options.module, [], {
      env: options.env,
      ...(options.cpu !== undefined
        ? { execPath: 'taskset', execArgv: ['-c', String(options.cpu), process.execPath, ...nodeArgs] }
        : { execArgv: nodeArgs }),
      stdio: ['ignore', devNull, 'pipe', 'ipc'],
    });
  } finally {
    closeSync(devNull); // the child holds its own copy
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await new Promise<ChildReady>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start within ${options.startTimeoutMs ?? 30_000} ms\n${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      const m = message as ChildReady;
      if (m?.kind === 'ready') resolve(m);
      else reject(new Error(`${options.name} sent an unexpected message`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal})\n${stderr}`));
    });
  });

  return {
    name: options.name,
    pid: child.pid!,
    ready,
    stderr: () => stderr,
    ask<T extends { kind: string }>(message: { kind: string; [key: string]: unknown }, timeoutMs = 10_000) {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (reply: unknown) => {
          if ((reply as { kind?: unknown })?.kind !== message.kind) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(reply as T);
        };
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error(`${options.name} did not answer '${message.kind}' within ${timeoutMs} ms`));
        }, timeoutMs);
        child.on('message', onMessage);
        child.send(message);
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
    },
  };
}
