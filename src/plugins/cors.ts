/**
 * CORS for browser clients (README, Configuration: `CORS_ORIGINS`).
 *
 * Outside production any localhost page (a dev server on any port) and hosted Apollo Sandbox
 * (`https://studio.apollographql.com`) are allowed without configuration, and `CORS_ORIGINS` adds to
 * them; in production `CORS_ORIGINS` is the whole list (none by default). The allowed request headers
 * are the gateway's own and those Apollo's clients and W3C tracing send: a header missing here makes the
 * browser refuse the request after its preflight, which the page only sees as "Failed to fetch".
 *
 * A preflight from an origin that is not allowed is answered 403 with a JSON message naming
 * `CORS_ORIGINS` (README, Errors), by a hook of its own ahead of `@fastify/cors`: answering `false`
 * from the plugin's origin callback lets the preflight fall through to the 404 handler (`Route
 * OPTIONS:/graphql not found`, which sent a web team looking for a wrong URL), and answering an error
 * there would break that origin's simple requests too. Simple requests from such an origin are answered
 * as before, without CORS headers, so the browser keeps the answer from the page.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { ForbiddenError, formatGatewayError } from '../errors.js';

/** Hosted Apollo Sandbox, allowed outside production. */
export const HOSTED_SANDBOX_ORIGIN = 'https://studio.apollographql.com';

/** Any localhost page, allowed outside production: `http(s)://localhost|127.0.0.1|[::1]`, any port. */
const LOCALHOST_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** Request headers a cross-origin page may send (lower case). */
export const CORS_ALLOWED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'content-type',
  'x-correlation-id',
  'idempotency-key',
  // Apollo Client's clientAwareness (and its enhanced form with the headers transport), Apollo iOS and Kotlin.
  'apollographql-client-name',
  'apollographql-client-version',
  'apollographql-library-name',
  'apollographql-library-version',
  'x-apollo-operation-name',
  'x-apollo-operation-type',
  'x-apollo-operation-id',
  'apollo-require-preflight',
  // W3C Trace Context and Baggage, sent by instrumented frontends.
  'traceparent',
  'tracestate',
  'baggage',
]);

/** Response headers a cross-origin page may read. */
export const CORS_EXPOSED_HEADERS: readonly string[] = Object.freeze(['x-correlation-id', 'retry-after']);

export interface CorsOptions {
  /** `NODE_ENV=production`: only `origins` are allowed. @default false */
  readonly production?: boolean;
  /** `CORS_ORIGINS`: exact origins (`scheme://host[:port]`). @default [] */
  readonly origins?: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. @default 600 */
  readonly maxAgeSeconds?: number;
}

/** The origin policy alone (pure): true when a page from `origin` may call the gateway. */
export function createOriginCheck(options: CorsOptions = {}): (origin: string) => boolean {
  const listed = new Set(options.origins ?? []);
  if (options.production) return (origin) => listed.has(origin);
  return (origin) => listed.has(origin) || origin === HOSTED_SANDBOX_ORIGIN || LOCALHOST_ORIGIN.test(origin);
}

/** What a refused preflight says: which setting lets the page in (never the origin itself: the client's text). */
export const REFUSED_PREFLIGHT_MESSAGE =
  "This page's origin may not call the gateway from a browser: add it (scheme://host[:port]) to CORS_ORIGINS";

/** Registers `@fastify/cors` on `app` with the origin policy above. */
export async function registerCors(app: FastifyInstance, options: CorsOptions = {}): Promise<void> {
  const allowed = createOriginCheck(options);
  // A refused preflight (an OPTIONS with Origin and Access-Control-Request-Method) is 403, before the plugin sees it.
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method !== 'OPTIONS' || origin === undefined || request.headers['access-control-request-method'] === undefined || allowed(origin)) return;
    return reply
      .code(403)
      .type('application/json; charset=utf-8')
      .send({ errors: [formatGatewayError(new ForbiddenError(REFUSED_PREFLIGHT_MESSAGE))] });
  });
  // Private Network Access: a browser that guards loopback addresses asks, in the preflight, whether a
  // public page (hosted Sandbox) may reach this one; @fastify/cors does not answer that header.
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method === 'OPTIONS' && request.headers['access-control-request-private-network'] === 'true' && origin && allowed(origin)) {
      void reply.header('access-control-allow-private-network', 'true');
    }
  });
  await app.register(cors, {
    // A request without Origin (curl, mobile apps, same-origin GETs) needs no CORS headers.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: options.maxAgeSeconds ?? 600,
  });
}
