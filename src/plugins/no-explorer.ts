/**
 * Production has no explorer (README, HTTP surface). A browser that opens `/graphql` there would
 * otherwise meet Apollo's CSRF refusal, which reads like a fault; instead it gets a short plain-text
 * answer saying there is no explorer in production and how to explore the API. GraphQL clients never
 * see it: it answers only a GET whose `Accept` prefers HTML, as a browser's navigation does.
 *
 * `prefersHtml` lives here, not in explorer.ts, so production can tell a browser apart without loading
 * the explorer (and Ruru's bundled assets).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Like Apollo Server's own check for its landing page (`prefersHTML`): a GET whose `Accept` rates
 * `text/html` above every JSON type. Browsers navigating to the URL do; GraphQL clients send JSON types
 * (or the wildcard alone, a tie that goes to JSON) and never get the page.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { range, q: q ? Number(q.slice(2)) || 0 : 1 };
  });
  // The quality of a media type is that of the most specific range matching it (RFC 9110 §12.5.1).
  const quality = (type: string) => {
    const [major] = type.split('/');
    for (const candidate of [type, `${major}/*`, '*/*']) {
      const match = ranges.find((r) => r.range === candidate);
      if (match) return match.q;
    }
    return 0;
  };
  return quality('text/html') > Math.max(quality('application/json'), quality('application/graphql-response+json'));
}

/** What a browser on `/graphql` reads in production. Names settings, never anything of the request. */
export const NO_EXPLORER_NOTE = [
  'There is no GraphQL explorer in production.',
  '',
  'This URL is the GraphQL API itself: POST a query as JSON with an Authorization header (or GET one, with an apollo-require-preflight header).',
  '',
  'To explore the API:',
  '- run the gateway outside production: `npm start` serves an explorer on an emulator, at http://127.0.0.1:4000/graphql;',
  '- or open hosted Apollo Sandbox (https://studio.apollographql.com/sandbox) on this URL, once the operator allows it here:',
  '  CORS_ORIGINS must list https://studio.apollographql.com and INTROSPECTION=true lets it read the schema.',
  '',
].join('\n');

/** The `/graphql` route's `preHandler` in production: a browser's navigation gets {@link NO_EXPLORER_NOTE} (404). */
export async function noExplorerPreHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.method !== 'GET' || !prefersHtml(request.headers.accept)) return undefined;
  return reply
    .code(404)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(NO_EXPLORER_NOTE);
}
