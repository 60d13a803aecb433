/**
 * A collector that cannot be reached or does not answer (README, Observability; issue 24 item 9): the
 * built gateway as a process, `OTEL_EXPORTER_OTLP_ENDPOINT` at a loopback port nothing listens on, or at
 * an OTLP/HTTP listener that takes the export and never answers. The exporter honours
 * `OTEL_EXPORTER_OTLP_TIMEOUT` itself; the tests shorten or lengthen it to show what waits on it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort, listenOnLoopback, type LoopbackServer } from './helpers/loopback.js';
import { startMain, type MainProcess } from './helpers/main-process.js';
import { throttled } from '../src/plugins/tracing/tracing.js';

/** Sends one request through the gateway, so there is a span to export. */
async function oneRequest(url: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ viewer { authenticated } }' }),
  });
  expect(response.status).toBe(200);
}

/** The JSON log lines the process wrote to stdout. */
const logLines = (main: MainProcess) =>
  main
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('an unreachable OTLP collector', () => {
  let main: MainProcess | undefined;
  afterEach(async () => {
    await main?.stop();
    main = undefined;
  });

  it('is said in the log (warn, naming the endpoint) once the exporter gives up; the process still stops cleanly', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    main = startMain({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_EXPORTER_OTLP_TIMEOUT: '3000' });
    await oneRequest(await main.listening());
    await main.waitFor(/spans could not be exported to the OTLP collector/, 25_000);
    const [warning] = logLines(main).filter((line) => line.msg === 'spans could not be exported to the OTLP collector: dropped');
    expect(warning).toMatchObject({ level: 40, endpoint: `${endpoint}/v1/traces`, reason: 'ECONNREFUSED' });
    const stopped = main.stop();
    main = undefined;
    expect(await stopped).toBe(0);
  });
});

describe('a collector that takes the export and never answers', () => {
  let collector: LoopbackServer;
  const held: ServerResponse[] = [];
  let exportArrived: Promise<void>;

  beforeAll(async () => {
    let arrived!: () => void;
    exportArrived = new Promise((resolve) => (arrived = resolve));
    collector = await listenOnLoopback(
      createServer((request: IncomingMessage, response: ServerResponse) => {
        request.resume();
        held.push(response); // never answered
        arrived();
      }),
    );
  });
  afterAll(() => collector.close());

  it('does not hold shutdown up: the process exits while the export is still unanswered', async () => {
    // The exporter itself would wait a minute for the answer; shutdown waits at most 1 s of it.
    const main = startMain({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_EXPORTER_OTLP_TIMEOUT: '60000' });
    try {
      await oneRequest(await main.listening());
      await exportArrived;
      main.child.kill('SIGTERM');
      const guard = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref());
      const outcome = await Promise.race([main.exited, guard]);
      expect(outcome).toEqual([0, null]);
      expect(held.every((response) => !response.writableEnded)).toBe(true);
      expect(logLines(main).map((line) => line.msg)).toContain('spans not exported by shutdown were dropped');
    } finally {
      main.child.kill('SIGKILL');
    }
  });
});

describe('throttled', () => {
  it('lets the first call through, then at most one per interval', () => {
    let now = 1_000_000;
    const calls: number[] = [];
    const report = throttled(60_000, (n: number) => calls.push(n), () => now);
    report(1);
    report(2);
    now += 59_999;
    report(3);
    now += 1;
    report(4);
    now += 60_000;
    report(5);
    expect(calls).toEqual([1, 4, 5]);
  });
});
