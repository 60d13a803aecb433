/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 (what a collector's `otlphttp` receiver does): accepts
 * `POST /v1/traces` in `application/json` or `application/x-protobuf`, decodes both into one span shape,
 * and keeps the raw bodies so tests can check that nothing secret was sent at all. The protobuf decoder
 * is written here from the OTLP `.proto` field numbers, independent of the exporter's serializer.
 */
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from './loopback.js';

export interface ReceivedSpan {
  /** Lower-case hex. */
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message?: string };
  readonly serviceName?: string;
}

export interface ExportRequest {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly raw: Buffer;
}

export interface OtlpReceiver {
  /** e.g. `http://127.0.0.1:5678` (the exporters add `/v1/traces` to OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly url: string;
  readonly requests: ExportRequest[];
  readonly spans: ReceivedSpan[];
  /** Resolves once `predicate` holds for the spans received so far (checked on every export). */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean): Promise<readonly ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ExportRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const waiters: Array<{ predicate: (s: readonly ReceivedSpan[]) => boolean; resolve: (s: readonly ReceivedSpan[]) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.predicate(spans)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(spans);
      }
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentType = req.headers['content-type'];
      requests.push({ path: req.url ?? '', contentType, raw });
      try {
        if (contentType?.startsWith('application/json')) spans.push(...fromJson(JSON.parse(raw.toString('utf8'))));
        else if (contentType?.startsWith('application/x-protobuf')) spans.push(...fromProtobuf(raw));
        else throw new Error(`unexpected content-type ${contentType}`);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
        return;
      }
      const json = contentType.startsWith('application/json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : Buffer.alloc(0));
      check();
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    spans,
    waitFor(predicate) {
      return new Promise((resolve) => {
        waiters.push({ predicate, resolve });
        check();
      });
    },
    close,
  };
}

// ---- OTLP/JSON (ids are hex strings; 64-bit integers may be strings) ----

interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}
interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}

function jsonValue(value: JsonAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(jsonValue);
  return undefined;
}

const jsonAttributes = (list: JsonKeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

function fromJson(body: any): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const serviceName = jsonAttributes(rs.resource?.attributes)['service.name'] as string | undefined;
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({
          traceId: String(span.traceId).toLowerCase(),
          spanId: String(span.spanId).toLowerCase(),
          parentSpanId: String(span.parentSpanId ?? '').toLowerCase(),
          name: span.name,
          kind: Number(span.kind),
          attributes: jsonAttributes(span.attributes),
          status: { code: Number(span.status?.code ?? 0), message: span.status?.message },
          serviceName,
        });
      }
    }
  }
  return out;
}

// ---- OTLP/protobuf: a minimal wire-format reader ----

type Field = { no: number; wire: number; value: bigint | Buffer };

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 1) {
      yield { no, wire, value: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      yield { no, wire, value: buf.subarray(pos, pos + length) };
      pos += length;
    } else if (wire === 5) {
      yield { no, wire, value: buf.subarray(pos, pos + 4) };
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const bytesOf = (f: Field) => f.value as Buffer;

/** AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array. */
function protoValue(buf: Buffer): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return bytesOf(f).toString('utf8');
    if (f.no === 2) return f.value === 1n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
    if (f.no === 4) return bytesOf(f).readDoubleLE(0);
    if (f.no === 5) return [...fields(bytesOf(f))].filter((v) => v.no === 1).map((v) => protoValue(bytesOf(v)));
  }
  return undefined;
}

/** KeyValue: 1 key, 2 value. */
function protoAttribute(buf: Buffer): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const f of fields(buf)) {
    if (f.no === 1) key = bytesOf(f).toString('utf8');
    if (f.no === 2) value = protoValue(bytesOf(f));
  }
  return [key, value];
}

/** ExportTraceServiceRequest 1 resource_spans > ResourceSpans 1 resource, 2 scope_spans > ScopeSpans 2 spans > Span. */
function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of fields(body)) {
    if (rs.no !== 1) continue;
    let serviceName: string | undefined;
    const scopeSpans: Buffer[] = [];
    for (const f of fields(bytesOf(rs))) {
      if (f.no === 1) {
        for (const a of fields(bytesOf(f))) if (a.no === 1) {
          const [key, value] = protoAttribute(bytesOf(a));
          if (key === 'service.name') serviceName = String(value);
        }
      }
      if (f.no === 2) scopeSpans.push(bytesOf(f));
    }
    for (const ss of scopeSpans) {
      for (const s of fields(ss)) {
        if (s.no !== 2) continue;
        // Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes, 15 status (2 message, 3 code).
        const span: { -readonly [K in keyof ReceivedSpan]: ReceivedSpan[K] } = {
          traceId: '',
          spanId: '',
          parentSpanId: '',
          name: '',
          kind: 0,
          attributes: {},
          status: { code: 0 },
          serviceName,
        };
        const attributes: Record<string, unknown> = {};
        for (const f of fields(bytesOf(s))) {
          if (f.no === 1) span.traceId = bytesOf(f).toString('hex');
          else if (f.no === 2) span.spanId = bytesOf(f).toString('hex');
          else if (f.no === 4) span.parentSpanId = bytesOf(f).toString('hex');
          else if (f.no === 5) span.name = bytesOf(f).toString('utf8');
          else if (f.no === 6) span.kind = Number(f.value);
          else if (f.no === 9) {
            const [key, value] = protoAttribute(bytesOf(f));
            attributes[key] = value;
          } else if (f.no === 15) {
            let code = 0;
            let message: string | undefined;
            for (const st of fields(bytesOf(f))) {
              if (st.no === 2) message = bytesOf(st).toString('utf8');
              if (st.no === 3) code = Number(st.value);
            }
            span.status = { code, message };
          }
        }
        span.attributes = attributes;
        out.push(span);
      }
    }
  }
  return out;
}
