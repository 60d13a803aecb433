/**
 * Draining for graceful shutdown (README, HTTP surface; main.ts owns the signals). Fastify closes the
 * connections that are idle when `close()` starts, but a keep-alive connection busy at that moment
 * would stay open after its answer and keep `close()` waiting forever. Answers finished while draining
 * therefore ask the client to close the connection (`Connection: close`).
 */
import type { FastifyInstance } from 'fastify';

/** The switch `registerDraining` returns. */
export interface Draining {
  /** From now on every answer closes its connection. Call just before `app.close()`. */
  begin(): void;
}

/** Adds the `onSend` hook that closes connections once draining has begun. */
export function registerDraining(app: FastifyInstance): Draining {
  let active = false;
  app.addHook('onSend', async (_request, reply) => {
    if (active) void reply.header('connection', 'close');
  });
  return {
    begin() {
      active = true;
    },
  };
}
