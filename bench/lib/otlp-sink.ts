/**
 * The OTLP/HTTP trace sink of the tracing scenarios: what a collector's receiver is to the gateway, and no
 * more. `POST /v1/traces` answers 200 at once with an empty `ExportTraceServiceResponse`; the sink counts
 * requests, bytes and spans, so the bench can show that spans really left the gateway (and how many per
 * operation, which is how a dropped batch would show). Runs in the bench's own process on 127.0.0.1; counting
 * spans walks the protobuf framing without decoding anything else (a few µs per export request).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkCounts {
  /** Export requests (`POST /v1/traces`) received. */
  readonly requests: number;
  /** Request body bytes. */
  readonly bytes: number;
  /** Spans in them. */
  readonly spans: number;
  /** Requests that were not an OTLP/protobuf trace export (answered 400; there should be none). */
  readonly rejected: number;
}

export interface OtlpSink {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` for the gateway (the exporter appends `/v1/traces`). */
  readonly url: string;
  counts(): SinkCounts;
  /** Resolves once no export request has arrived for `quietMs` (at most `maxMs`): the gateway's batch is out. */
  settle(quietMs: number, maxMs?: number): Promise<SinkCounts>;
  close(): Promise<void>;
}

/**
 * Spans in an `ExportTraceServiceRequest`: resource_spans (1) > scope_spans (2) > spans (2). Length-delimited
 * fields are skipped by their length; only those three levels are entered.
 */
export function countSpans(body: Buffer): number {
  const each = (buf: Buffer, wanted: number, visit: (inner: Buffer) => void): void => {
    let pos = 0;
    const varint = (): number => {
      let result = 0;
      let shift = 1;
      for (;;) {
        if (pos >= buf.length) throw new Error('truncated varint');
        const byte = buf[pos++]!;
        result += (byte & 0x7f) * shift;
        if ((byte & 0x80) === 0) return result;
        shift *= 128;
      }
    };
    while (pos < buf.length) {
      const key = varint();
      const wire = key & 7;
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const length = varint();
        if (pos + length > buf.length) throw new Error('truncated field');
        if (key >>> 3 === wanted) visit(buf.subarray(pos, pos + length));
        pos += length;
      } else throw new Error(`unsupported wire type ${wire}`);
    }
  };
  let spans = 0;
  each(body, 1, (resourceSpans) => each(resourceSpans, 2, (scopeSpans) => each(scopeSpans, 2, () => spans++)));
  return spans;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  let spans = 0;
  let rejected = 0;
  let lastAt = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      lastAt = performance.now();
      const body = Buffer.concat(chunks);
      const ok = req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf';
      let counted: number | undefined;
      try {
        counted = ok ? countSpans(body) : undefined;
      } catch {
        counted = undefined;
      }
      if (counted === undefined) {
        rejected++;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('expected POST /v1/traces, application/x-protobuf\n');
        return;
      }
      requests++;
      bytes += body.length;
      spans += counted;
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const counts = (): SinkCounts => ({ requests, bytes, spans, rejected });
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    async settle(quietMs, maxMs = 10_000) {
      const started = performance.now();
      const since = () => performance.now() - Math.max(lastAt, started);
      while (since() < quietMs && performance.now() - started < maxMs) {
        await new Promise((r) => setTimeout(r, Math.max(10, quietMs - since())));
      }
      return counts();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
