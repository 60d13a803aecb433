/**
 * The correlation id of a request (README, HTTP surface): the caller's `x-correlation-id` when
 * it is a GUID, else a new one. It is Fastify's request id (`genReqId`), so every log line of the
 * request carries it; it is sent upstream as `MS-CorrelationId` / `client-request-id` (the upstream
 * profiles), and echoed in the response header `x-correlation-id`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { isGuid } from '../guid.js';

/** The caller's `x-correlation-id` when it is a GUID (lower-cased), else a new one. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return isGuid(value) ? value.toLowerCase() : randomUUID();
}

/** Fastify's `genReqId` option: the request id is the correlation id. */
export function correlationRequestId(req: IncomingMessage): string {
  return correlationIdFrom(req.headers['x-correlation-id']);
}

/** Echoes the correlation id in every response's `x-correlation-id` header. */
export function registerCorrelationIdEcho(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-correlation-id', request.id);
  });
}
