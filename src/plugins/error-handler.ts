/**
 * Fastify's error handler: errors Fastify raises before Apollo sees the request (body too large, bad
 * JSON, wrong content type) still get a GraphQL-shaped body through the one formatter
 * (`formatGatewayError`), so clients parse one error format (README, Hardening: 413 over the limit).
 * A 4xx is the client's `BAD_REQUEST`; anything else is a 500, masked and logged.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError, formatGatewayError } from '../errors.js';

/** Options of `registerErrorHandler`. */
export interface ErrorHandlerOptions {
  /** The body limit, named in the 413 message (`MAX_BODY_BYTES`). */
  readonly maxBodyBytes: number;
  /** Told the code of each error answered (metrics). @default none */
  readonly onError?: (code: 'BAD_REQUEST' | 'INTERNAL_SERVER_ERROR') => void;
}

export function registerErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'unhandled error');
    options.onError?.(status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
    const refusal =
      status === 500
        ? error
        : new BadRequestError(error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `Request body is larger than ${options.maxBodyBytes} bytes` : error.message);
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send({ errors: [formatGatewayError(refusal)] });
  });
}
