import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/logger.js';
import { startMain } from './helpers/main-process.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { log, text: () => lines.join('\n') };
}

describe('logger', () => {
  it('redacts authorization headers, tokens and passwords', () => {
    const { log, text } = capture();
    log.info({ headers: { authorization: 'Bearer secret-token' }, token: 'tok-1', variables: { input: { passwordProfile: { password: 'Pa55-word!' } } } });
    log.info({ password: 'Pa55-word!', passwordProfile: { password: 'Pa55-word!' } });
    log.info({ patch: { password: 'Pa55-word!' }, upstream: { token: 'tok-1', accessToken: 'tok-1' } });
    expect(text()).not.toMatch(/secret-token|tok-1|Pa55-word!/);
    expect(text()).toContain('[redacted]');
  });

  it('logs errors as type, message, code and stack only: no request options or headers', () => {
    const { log, text } = capture();
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      options: { headers: { authorization: 'Bearer leaked-token' } },
      cause: Object.assign(new Error('inner'), { request: { headers: { authorization: 'Bearer leaked-2' } } }),
    });
    log.error({ err: error }, 'upstream failed');
    const line = JSON.parse(text());
    expect(line.err).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED', cause: { message: 'inner' } });
    expect(text()).not.toMatch(/leaked/);
  });
});

/**
 * The gateway's own stdout: request lines are written in batches (logger.ts), yet each reaches the output
 * within the flush interval, and none is lost when the process stops on SIGTERM. The built gateway runs
 * as `npm start` runs it, on its embedded emulator.
 */
describe('request log lines of the running gateway', () => {
  async function startGateway() {
    const main = startMain({ LOG_LEVEL: 'info' });
    // Start-up on a loaded machine (the whole suite in parallel) can take a while.
    const url = await main.listening(45_000);
    const request = async (correlationId: string) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      await res.arrayBuffer();
    };
    const requestLines = () =>
      main
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; correlationId?: string })
        .filter((l) => l.msg === 'request completed');
    return { ...main, request, requestLines };
  }

  it('writes a request line out while the gateway is idle (the flush timer, not a full batch)', async () => {
    const gw = await startGateway();
    try {
      const id = randomUUID();
      await gw.request(id);
      // One line is far below the batch size: only the timer writes it.
      await gw.waitFor(new RegExp(id), 10_000);
      expect(gw.requestLines().map((l) => l.correlationId)).toContain(id);
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  }, 90_000);

  it('loses none of the last request lines when stopped with SIGTERM right after them', async () => {
    const gw = await startGateway();
    const ids = Array.from({ length: 40 }, () => randomUUID());
    try {
      await Promise.all(ids.map((id) => gw.request(id)));
    } finally {
      gw.child.kill('SIGTERM');
    }
    const [code] = await gw.exited;
    expect(code).toBe(0);
    const logged = new Set(gw.requestLines().map((l) => l.correlationId));
    expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    // The shutdown lines come after them, so nothing was cut off at the end either.
    expect(gw.stdout()).toMatch(/"msg":"stopped"/);
  }, 90_000);
});
