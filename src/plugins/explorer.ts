/**
 * The GraphQL explorer served on `GET /graphql` to browsers, outside production (README, HTTP surface).
 *
 * Apollo's own landing page (Sandbox) loads its code from a CDN, which fails offline and in locked-down
 * networks, so it is disabled and this serves Ruru (a GraphiQL distribution) instead, from the `ruru`
 * package's own files: the page and every script, style, font and web worker it loads come from this
 * server under {@link EXPLORER_ASSETS_PATH}. The page's Content-Security-Policy allows nothing from
 * another origin, so a browser would refuse a CDN request even if a future version tried one.
 *
 * On the embedded emulator, `main.ts` passes the dev token as a default header, so a query runs as soon
 * as the page opens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ruruHTML, type RuruClientConfig } from 'ruru/server';
import { getStaticFile } from 'ruru/static';
import { prefersHtml } from './no-explorer.js';

export { prefersHtml };

/** Where the explorer's static files are served from (a URL path, ending in a slash). */
export const EXPLORER_ASSETS_PATH = '/explorer/';

/** The query shown in a new explorer tab. */
const DEFAULT_QUERY = `# Run with the play button or Ctrl+Enter.
# Schema: docs pane. Examples: README.md.
query Me {
  viewer {
    authenticated
    kind
    tenantId
    name
    permissions
  }
}
`;

/**
 * Allows only this origin: scripts and styles are inline or local, workers are local module scripts,
 * fonts are local or `data:`, and the only network traffic is the GraphQL endpoint itself.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ExplorerOptions {
  /** The GraphQL endpoint the page talks to (same origin). @default '/graphql' */
  readonly endpoint?: string;
  /**
   * Request headers filled in the explorer's headers editor, e.g. the emulator's dev token
   * (`{ Authorization: 'Bearer ...' }`). The page then must not be cached: it is sent `no-store`.
   * @default none
   */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
  /** The query shown in a new tab. @default a `viewer` query with a short comment */
  readonly defaultQuery?: string;
}

export interface Explorer {
  /** The page's HTML. */
  readonly html: string;
  /** True when `request` is a browser navigation to the endpoint (a GET preferring `text/html`). */
  wants(request: FastifyRequest): boolean;
  /** Sends the page. */
  send(reply: FastifyReply): FastifyReply;
}

/** The `/graphql` route's `preHandler`: a browser opening the endpoint gets the page, everything else GraphQL. */
export function explorerPreHandler(explorer: Explorer): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => (explorer.wants(request) ? explorer.send(reply) : undefined);
}

/** Builds the page once; it never changes while the process runs. */
export function createExplorer(options: ExplorerOptions = {}): Explorer {
  const { endpoint = '/graphql', defaultHeaders, defaultQuery = DEFAULT_QUERY } = options;
  const headers = defaultHeaders && Object.keys(defaultHeaders).length ? JSON.stringify(defaultHeaders, null, 2) : undefined;
  const html = ruruHTML({
    endpoint,
    staticPath: EXPLORER_ASSETS_PATH,
    // Ruru's type marks every GraphiQL prop as required; all are optional at run time.
    clientConfig: {
      defaultQuery,
      // `initialHeaders` fills the first tab even when the browser remembers an older (expired) dev
      // token; `defaultHeaders` fills every new tab.
      ...(headers ? { initialHeaders: headers, defaultHeaders: headers } : {}),
    } as RuruClientConfig,
    htmlParts: {
      titleTag: '<title>Partner BFF gateway: GraphQL explorer</title>',
      // No favicon request (and no 404 in the console).
      metaTags: (original) => `${original}\n<link rel="icon" href="data:," />`,
    },
  });
  return {
    html,
    wants(request) {
      return request.method === 'GET' && prefersHtml(request.headers.accept);
    },
    send(reply) {
      return reply
        .code(200)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .send(html);
    },
  };
}

/**
 * Serves Ruru's static files (scripts, styles, font, workers) from the package itself under
 * {@link EXPLORER_ASSETS_PATH}. They are versioned with the package, so browsers may cache them.
 */
export function registerExplorerAssets(app: FastifyInstance): void {
  app.get(`${EXPLORER_ASSETS_PATH}*`, async (request, reply) => {
    const file = await getStaticFile({
      staticPath: EXPLORER_ASSETS_PATH,
      urlPath: request.url,
      acceptEncoding: request.headers['accept-encoding'],
      disallowDevAssets: true,
    });
    if (!file) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    const etag = file.headers.etag;
    void reply.header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff');
    if (etag && request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
    return reply.code(200).headers(file.headers).send(file.content);
  });
}

/**
 * `GET /` outside production: a browser is sent on to the explorer on `/graphql` (302); any other client
 * gets a small JSON pointer to the endpoint. In production `/` stays a 404, like every unknown path.
 */
export function registerRootPointer(app: FastifyInstance, endpoint = '/graphql'): void {
  app.get('/', async (request, reply) => {
    if (prefersHtml(request.headers.accept)) return reply.code(302).header('location', endpoint).send();
    return reply.header('cache-control', 'no-store').send({
      message: `This is a GraphQL API: POST (or GET) ${endpoint}; open ${endpoint} in a browser for the explorer.`,
      graphql: endpoint,
    });
  });
}
