/**
 * Every GraphQL answer is the caller's own data: clients cache it in their normalized store, never a
 * shared cache. The `/graphql` route's `onSend` hook marks it `Cache-Control: no-store` unless a
 * handler already chose (the explorer page sets its own).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A route `onSend` hook: `no-store` unless the answer already has a `Cache-Control`. */
export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
}
