/**
 * The built gateway as a process, `node dist/src/main.js` as `npm start` runs it, for the tests of what
 * only a process shows: start-up lines and the banner, refusals and exit codes, signals and draining.
 * Needs the build (`npm test` compiles first). The child's environment is PATH, ephemeral ports for the
 * gateway and its embedded emulator (`PORT=0`, `EMULATOR_PORT=0`), metrics off (`METRICS_PORT=0`: the
 * default 9464 would collide between test files running in parallel), and what the test sets, which wins.
 */
import { spawn, spawnSync, type ChildProcessByStdio, type SpawnSyncReturns } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The repository: the child's working directory unless told otherwise. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', PORT: '0', EMULATOR_PORT: '0', METRICS_PORT: '0', ...env };
}

/**
 * Runs `dist/src/main.js` to its end (a start-up that is refused): its status, stdout and stderr. Killed
 * (SIGKILL) after `timeoutMs`, for a start-up that was not refused after all.
 */
export function runMain(env: Record<string, string>, timeoutMs = 20_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['dist/src/main.js'], { cwd: repoRoot, env: childEnv(env), encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
}

/** Where and what to start; the defaults are the repository's `dist/src/main.js`. */
export interface MainOptions {
  /** @default the repository */
  readonly cwd?: string;
  /** The program and its arguments. @default [process.execPath, 'dist/src/main.js'] */
  readonly command?: readonly [string, ...string[]];
}

/** A running `main.js`. */
export interface MainProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /**
   * Resolves with the first match of `pattern` in stdout, as soon as it is there; rejects when the
   * process ends first, or after `withinMs` (a guard, so that a test always gets to stop the child).
   */
  waitFor(pattern: RegExp, withinMs?: number): Promise<RegExpExecArray>;
  /** Waits for `listening on <url>` and resolves with the gateway's URL. */
  listening(withinMs?: number): Promise<string>;
  /** Exit code and signal, once the process has exited and its output is read to the end. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Sends SIGTERM (the way `npm start` is stopped) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the gateway process; its stdout and stderr are collected from the start. */
export function startMain(env: Record<string, string>, options: MainOptions = {}): MainProcess {
  const [program, ...args] = options.command ?? [process.execPath, 'dist/src/main.js'];
  const child = spawn(program, args, { cwd: options.cwd ?? repoRoot, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ended = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // `close`, not `exit`: by then stdout and stderr are read to their end.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      ended = true;
      resolve([code, signal]);
    }),
  );
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;

  const waitFor = (pattern: RegExp, withinMs = 45_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(stdout);
        if (match) finish(() => resolve(match));
        return match !== null;
      };
      const onEnd = () => {
        if (!check()) finish(() => reject(new Error(`the gateway process ended before ${pattern} was printed\n${output()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${pattern} was not printed within ${withinMs} ms\n${output()}`))), withinMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.off('close', onEnd);
        settle();
      };
      if (check()) return;
      if (ended) return onEnd();
      child.stdout.on('data', check);
      child.once('close', onEnd);
    });

  return {
    child,
    stdout: () => stdout,
    waitFor,
    listening: async (withinMs) => (await waitFor(/listening on (http:\/\/\S+)/, withinMs))[1]!,
    exited,
    async stop() {
      child.kill('SIGTERM');
      return (await exited)[0];
    },
  };
}
