/**
 * The request log: one line per request, written by a Fastify `onResponse` hook
 * (`registerRequestLog`), and an Apollo plugin that records the operation's name and type for that line,
 * logs every error that will be masked as INTERNAL_SERVER_ERROR with its detail, under the request's
 * correlation id, since the client only sees the code, and logs upstream errors with the upstream's own
 * (sanitized) description, which production clients never see.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Context } from '../context.js';
import { unredactedSibling, type Logger } from '../logger.js';
import type { Tracing } from './tracing/tracing.js';
import { GatewayError, UpstreamError } from '../errors.js';
import { isUncodedClientError } from './format-error.js';

/** Longest client name or version kept on the log line (Apollo's clients send short strings). */
const CLIENT_FIELD_MAX = 64;

/** Printable ASCII only, trimmed and cut to {@link CLIENT_FIELD_MAX}; `undefined` when nothing is left. */
function clientField(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const clean = raw.replace(/[^\x20-\x7e]/g, '').trim().slice(0, CLIENT_FIELD_MAX).trim();
  return clean || undefined;
}

/**
 * The caller's client as Apollo's client awareness names it (`apollographql-client-name` and
 * `-version`, sent by Apollo Client's `clientAwareness`, Apollo iOS and Kotlin), for the request log
 * line. The headers are the caller's say-so: bounded and stripped to printable ASCII, never trusted.
 */
export function clientIdentity(headers: Readonly<Record<string, string | string[] | undefined>>): {
  clientName?: string;
  clientVersion?: string;
} {
  return { clientName: clientField(headers['apollographql-client-name']), clientVersion: clientField(headers['apollographql-client-version']) };
}

/** What the request log line needs besides the app. */
export interface RequestLogOptions {
  /** The gateway's root logger. */
  readonly log: Logger;
  /** With tracing on, the line carries the request's `trace_id` and `span_id`. */
  readonly tracing?: Tracing;
}

/**
 * Writes the one line of every request when its answer is sent (Fastify's own request logging is off):
 * the correlation id (and trace ids), method, route, status, duration, the GraphQL operation and the
 * client. Probes log at debug. Every field is one the gateway chose and bounded (the route, never the
 * query string; operation names are GraphQL names; client fields are stripped to printable ASCII), so the
 * line goes through an unredacted sibling of the root logger rather than the request's child logger:
 * no redaction pass and no child logger built per request for the one line every request writes.
 */
export function registerRequestLog(app: FastifyInstance, options: RequestLogOptions): void {
  const line = unredactedSibling(options.log);
  const { tracing } = options;
  app.addHook('onResponse', async (request, reply) => {
    const level = request.url === '/healthz' || request.url === '/readyz' ? 'debug' : 'info';
    if (!line.isLevelEnabled(level)) return;
    line[level](
      {
        correlationId: request.id,
        ...tracing?.logBindings(request.raw),
        method: request.method,
        path: request.routeOptions.url ?? request.url.split('?')[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        operationName: request.graphqlOperation?.operationName,
        operationType: request.graphqlOperation?.operationType,
        // Only when it was one: an upstream answer came from the response cache.
        cache: request.graphqlOperation?.cache,
        ...clientIdentity(request.headers),
      },
      'request completed',
    );
  });
}

export function createRequestLoggingPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName, operation }) {
          contextValue.operation.operationName = operationName ?? undefined;
          contextValue.operation.operationType = operation?.operation;
        },
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (original instanceof UpstreamError) {
              // The upstream's own description is for operators only (clients in production get the
              // gateway's message): logged here, sanitized (no tokens, no passwords).
              const { upstream } = original.extensions();
              contextValue.log.info({ code: original.code, path: error.path, upstream, upstreamMessage: original.upstreamMessage }, 'upstream error');
            } else if (original instanceof GatewayError) {
              contextValue.log.debug({ code: original.code, path: error.path, msg: original.message }, 'gateway error');
            } else if (isUncodedClientError(error)) {
              contextValue.log.debug({ code: 'BAD_REQUEST', msg: error.message }, 'bad request');
            } else if (!error.extensions?.code || error.extensions.code === 'INTERNAL_SERVER_ERROR') {
              contextValue.log.error({ err: original, path: error.path }, 'unexpected error (masked as INTERNAL_SERVER_ERROR)');
            }
          }
        },
      };
    },
  };
}
