/**
 * The OpenTelemetry implementation of `Tracing` (tracing.ts). Loaded only by `startTracing`, with a
 * dynamic import, when an OTLP endpoint is configured: nothing else may import this file or any
 * `@opentelemetry/*` package (test/architecture.test.ts).
 *
 * Nothing global is registered (no global tracer provider, context manager or propagator): several
 * gateways may share a process (the tests do), and each one's spans go to its own exporter. Contexts are
 * therefore always passed explicitly, and the one `AsyncLocalStorageContextManager` of this gateway
 * carries the active span from the server span into resolvers, upstream tries and token exchanges.
 *
 * Attribute names follow OpenTelemetry's semantic conventions (HTTP server and client spans, GraphQL's
 * `graphql.operation.*`, `error.type` for the contract's error code). They hold no token, password,
 * body or query string.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context as OtelContext,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../../config.js';
import { endpointForLog, throttled } from './tracing.js';
import type { OperationTrace, RootFieldInfo, SpanEnd, TracedWork, Tracing, TracingOptions, UpstreamTryInfo, UpstreamTryTrace } from './tracing.js';

const INSTRUMENTATION_SCOPE = 'partner-bff-gateway';

/** The span of work that is not traced (a Redis command outside any request, or of an unsampled one). */
const NO_WORK: TracedWork = { end() {} };

function samplerFor(config: TracingConfig): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default: {
      const unknown: never = config.sampler;
      throw new Error(`unknown sampler ${String(unknown)}`);
    }
  }
}

/** Only the exporter of the configured encoding is loaded. */
async function exporterFor(config: TracingConfig): Promise<SpanExporter> {
  if (config.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url: config.tracesUrl });
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: config.tracesUrl });
}

/** How often an unreachable collector is said in the log, at most. */
const EXPORT_FAILURE_LOG_INTERVAL_MS = 60_000;

/** What a failed export's error is, for the log: its code (`ECONNREFUSED`) or message, never a header. */
function describeExportError(error: Error | undefined): string {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  const found = code ?? cause?.code;
  if (typeof found === 'string') return found;
  return error?.message.slice(0, 200) ?? 'unknown';
}

/**
 * The exporter, telling `onFailure` about every export that failed: the OTLP exporter retries a refused
 * connection with backoff, within its timeout (10 s by default), and then drops the spans without a word.
 */
function reportingExporter(exporter: SpanExporter, onFailure: (error: Error | undefined) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) onFailure(result.error);
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

function fail(span: Span, code: string): void {
  span.setAttribute('error.type', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

function endWith(span: Span, result: SpanEnd | undefined): void {
  if (result?.errorCode) fail(span, result.errorCode);
  span.end();
}

/** What a try span says about the try: method, service, host, port, scheme, path (never the query), retry number. */
function tryAttributes(info: UpstreamTryInfo): Attributes {
  const attributes: Attributes = { 'http.request.method': info.method, 'gateway.upstream.service': info.service };
  try {
    const url = new URL(info.url);
    attributes['server.address'] = url.hostname;
    attributes['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    attributes['url.scheme'] = url.protocol.replace(/:$/, '');
    // The path only: the query may carry continuation tokens.
    attributes['url.path'] = url.pathname;
  } catch {
    // An invalid URL fails in the transport; the span keeps the method and service.
  }
  if (info.attempt > 0) attributes['http.request.resend_count'] = info.attempt;
  return attributes;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Creates the tracer provider, its batch exporter and this gateway's context manager. */
export async function createOpenTelemetryTracing(config: TracingConfig, options: TracingOptions = {}): Promise<Tracing> {
  const endpoint = endpointForLog(config.tracesUrl);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 1_000;
  const exportFailed = throttled(EXPORT_FAILURE_LOG_INTERVAL_MS, (error: Error | undefined) =>
    options.logger?.warn({ endpoint, reason: describeExportError(error) }, 'spans could not be exported to the OTLP collector: dropped'),
  );
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': config.serviceName })),
    sampler: samplerFor(config),
    spanProcessors: [new BatchSpanProcessor({ exporter: reportingExporter(await exporterFor(config), exportFailed), scheduledDelayMillis: config.scheduleDelayMs })],
  });
  const tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const serverSpans = new WeakMap<IncomingMessage, { span: Span; route?: string }>();

  function handle(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const method = req.method ?? 'GET';
    // The samplers here look at no attribute: the sampling decision comes first, and only a recorded span
    // gets its attributes and its end (an unsampled request's span still gives its log lines their ids).
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    const entry: { span: Span; route?: string } = { span };
    serverSpans.set(req, entry);
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': method,
        'url.path': (req.url ?? '/').split('?')[0],
        'url.scheme': 'http',
        'network.protocol.version': req.httpVersion,
      });
      res.once('close', () => {
        const status = res.statusCode;
        if (entry.route) {
          span.updateName(`${method} ${entry.route}`);
          span.setAttribute('http.route', entry.route);
        }
        span.setAttribute('http.response.status_code', status);
        if (!res.writableFinished) fail(span, 'aborted');
        else if (status >= 500) fail(span, String(status));
        span.end();
      });
    }
    const active = trace.setSpan(parent, span);
    // The body arrives through the request's events, which run outside this call: bind them, so Fastify's
    // handler (after it has read the body) still runs with the server span active.
    contexts.bind(active, req);
    contexts.bind(active, res);
    contexts.with(active, next);
  }

  const tracing: Tracing = {
    instrumentServer(server) {
      const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        handle(req, res, () => {
          for (const listener of listeners) listener.call(server, req, res);
        });
      });
    },

    setRoute(request, route) {
      const entry = serverSpans.get(request);
      if (entry) entry.route = route;
    },

    logBindings(request) {
      const span = serverSpans.get(request)?.span;
      if (!span) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },

    activeLogBindings() {
      const span = trace.getSpan(contexts.active());
      if (!span) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },

    startOperation(): OperationTrace | undefined {
      const parent = contexts.active();
      // Every sampler here decides for a whole trace (parent-based, or by trace id): a request whose server
      // span is not recorded records nothing, so its operation and root fields are not spanned at all.
      if (trace.getSpan(parent)?.isRecording() === false) return undefined;
      const span = tracer.startSpan('GraphQL Operation', { kind: SpanKind.INTERNAL }, parent);
      const operationContext = trace.setSpan(parent, span);
      return {
        setOperation(type, name) {
          span.updateName(name ? `${type} ${name}` : type);
          span.setAttribute('graphql.operation.type', type);
          if (name) span.setAttribute('graphql.operation.name', name);
        },
        runRootField<T>(field: RootFieldInfo, run: () => T, codeOf: (error: unknown) => string): T {
          const fieldSpan = tracer.startSpan(
            `${field.parentType}.${field.fieldName}`,
            {
              kind: SpanKind.INTERNAL,
              attributes: {
                'graphql.field.name': field.fieldName,
                'graphql.field.parent_type': field.parentType,
                'graphql.field.path': field.responseKey,
              },
            },
            operationContext,
          );
          let result: T;
          try {
            result = contexts.with(trace.setSpan(operationContext, fieldSpan), run);
          } catch (error) {
            fail(fieldSpan, codeOf(error));
            fieldSpan.end();
            throw error;
          }
          if (!isPromiseLike(result)) {
            fieldSpan.end();
            return result;
          }
          return Promise.resolve(result).then(
            (value) => {
              fieldSpan.end();
              return value;
            },
            (error: unknown) => {
              fail(fieldSpan, codeOf(error));
              fieldSpan.end();
              throw error;
            },
          ) as T;
        },
        end(errorCodes) {
          if (errorCodes.length > 0) {
            fail(span, errorCodes[0]!);
            span.setAttribute('gateway.error.codes', [...new Set(errorCodes)]);
          }
          span.end();
        },
      };
    },

    markCacheHit(service) {
      const span = trace.getSpan(contexts.active());
      if (span?.isRecording()) span.setAttributes({ 'gateway.response_cache.hit': true, 'gateway.response_cache.service': service });
    },

    startUpstreamTry(info: UpstreamTryInfo): UpstreamTryTrace {
      const parent = contexts.active();
      const span = tracer.startSpan(info.method, { kind: SpanKind.CLIENT }, parent);
      // Unsampled, the try still sends the trace's traceparent (flags 00), but its attributes are never built.
      if (span.isRecording()) span.setAttributes(tryAttributes(info));
      const headers: Record<string, string> = {};
      propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
      return {
        headers,
        end({ status, errorCode }) {
          if (status > 0) span.setAttribute('http.response.status_code', status);
          endWith(span, { errorCode });
        },
      };
    },

    startTokenExchange(service): TracedWork {
      const span = tracer.startSpan('token exchange', { kind: SpanKind.CLIENT, attributes: { 'gateway.upstream.service': service } }, contexts.active());
      return { end: (result) => endWith(span, result) };
    },

    startRedisCommand(info): TracedWork {
      const parent = contexts.active();
      // Nothing active, or an unsampled request: no span (a Redis command carries no trace context onward).
      if (!trace.getSpan(parent)?.isRecording()) return NO_WORK;
      const span = tracer.startSpan(
        info.name,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.operation.name': info.name,
            'db.namespace': String(info.database),
            'server.address': info.serverAddress,
            'server.port': info.serverPort,
          },
        },
        parent,
      );
      return { end: (result) => endWith(span, result) };
    },

    async shutdown() {
      // The provider's shutdown waits for the exporter's retry loop (seconds against an unreachable
      // collector): raced against a timer, so it never holds the process's shutdown up for longer.
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        provider.shutdown().then(
          () => true,
          () => true,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), shutdownTimeoutMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (!finished) options.logger?.warn({ endpoint, waitedMs: shutdownTimeoutMs }, 'spans not exported by shutdown were dropped');
      contexts.disable();
    },
  };
  return tracing;
}
