/**
 * A throwaway HTTP server on port 0 for the upstream transport tests (got's `with-server.ts` habit):
 * every request is recorded, and a per-test handler decides the answer, including faults the
 * emulator cannot fake exactly (connection reset, a hang past the try timeout).
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { listenOnLoopback } from './loopback.js';
import type { IncomingHttpHeaders } from 'node:http';

export interface RecordedRequest {
  readonly method: string;
  /** Path + query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON, when it is. */
  readonly json?: unknown;
}

export type Reply =
  | { readonly status?: number; readonly headers?: Record<string, string>; readonly body?: unknown; readonly delayMs?: number }
  | { readonly reset: true }
  | { readonly hang: true }
  | { readonly stream: StreamReply };

/**
 * A large body written chunk by chunk as the client reads it (backpressure honoured), chunked unless
 * `headers` set a Content-Length: the JSON `{"pad":"aaa…"}` of exactly `bytes` bytes (before `gzip`).
 */
export interface StreamReply {
  readonly bytes: number;
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** Compress with gzip (`Content-Encoding: gzip`): a small download that inflates to `bytes`. */
  readonly gzip?: boolean;
}

/** What the server saw of one streamed answer. */
export interface StreamRecord {
  /** Bytes handed to the socket so far (compressed bytes with `gzip`). */
  written: number;
  /** Body bytes produced so far (before compression). */
  produced: number;
  /** `finished` when the whole body was written, `closed` when the client closed the connection first. */
  readonly outcome: Promise<'finished' | 'closed'>;
}

export type Handler = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface TestUpstream {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** One record per `stream` reply, in order. */
  readonly streams: StreamRecord[];
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

export async function startTestUpstream(handler: Handler = () => ({ status: 200, body: {} })): Promise<TestUpstream> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const streams: StreamRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, json };
      requests.push(recorded);
      const reply = await current(recorded, requests.length - 1);
      if ('reset' in reply) {
        req.socket.destroy();
        return;
      }
      if ('hang' in reply) return;
      if ('stream' in reply) {
        streams.push(streamBody(res, reply.stream));
        return;
      }
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (res.destroyed) return;
      const payload = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, {
        ...(typeof reply.body === 'object' && reply.body !== null ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        ...reply.headers,
      });
      res.end(payload);
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    streams,
    setHandler(h) {
      current = h;
    },
    close,
  };
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

function streamBody(res: http.ServerResponse, spec: StreamReply): StreamRecord {
  const head = Buffer.from('{"pad":"');
  const tail = Buffer.from('"}');
  res.writeHead(spec.status ?? 200, { 'content-type': 'application/json', ...(spec.gzip ? { 'content-encoding': 'gzip' } : {}), ...spec.headers });
  const gzip = spec.gzip ? zlib.createGzip() : undefined;
  const sink: NodeJS.WritableStream = gzip ?? res;
  let resolveOutcome!: (o: 'finished' | 'closed') => void;
  const record: StreamRecord = { written: 0, produced: 0, outcome: new Promise((r) => (resolveOutcome = r)) };
  if (gzip) {
    gzip.on('data', (c: Buffer) => {
      record.written += c.length;
      if (!res.write(c)) gzip.pause();
    });
    res.on('drain', () => gzip.resume());
    gzip.on('end', () => res.end());
  }
  const put = (b: Buffer): boolean => {
    record.produced += b.length;
    if (!gzip) record.written += b.length;
    return sink.write(b);
  };
  let closed = false;
  res.on('close', () => {
    closed = true;
    resolveOutcome(res.writableFinished ? 'finished' : 'closed');
  });
  const padding = Math.max(0, spec.bytes - head.length - tail.length);
  let left = padding;
  put(head);
  const pump = (): void => {
    while (!closed && left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!put(CHUNK.subarray(0, n))) {
        (gzip ?? res).once('drain', pump);
        return;
      }
    }
    if (!closed) {
      put(tail);
      sink.end();
    }
  };
  pump();
  return record;
}
