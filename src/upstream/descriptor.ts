/**
 * What the gateway knows of one upstream, in one place: its descriptor, exported by its client module
 * (partner-center.ts, graph.ts) and listed in src/upstreams.ts. The config (its variable and defaults
 * per cloud), the token source (its scope), the error model (its name and dialect), the transport (its
 * headers and request-id header), `/readyz` (its probe) and the per-request context (its client) all
 * read it; no upstream is named anywhere else.
 */
import type { Cloud } from '../config.js';
import type { UpstreamCaller, UpstreamProfile, UpstreamTransport } from './transport.js';
import type { UpstreamReads } from './read-through.js';

/** Where an upstream is in one national cloud (docs/upstream.md §1.1, §2.4). */
export interface UpstreamCloud {
  /** API root, without a version segment. */
  readonly url: string;
  /** Token resource of the on-behalf-of exchange (its scope is `tokenScope(resource)`). */
  readonly tokenResource: string;
  /** Whether what the gateway uses of the upstream exists in this cloud. */
  readonly available: boolean;
}

/** What an upstream's client is built from: one per request, bound to its caller. */
export interface UpstreamClientOptions {
  readonly transport: UpstreamTransport;
  /** The read-through layer (coalescing, response cache) the client's GETs and writes go through. @default straight to the transport */
  readonly reads?: UpstreamReads;
  /** The API root, from the config. */
  readonly baseUrl: string;
  readonly caller: UpstreamCaller;
  /** Key protecting paging cursors (see cursor.ts). */
  readonly cursorKey: string | Uint8Array;
  /** The configured cloud. */
  readonly cloud: Cloud;
  /** Whether the upstream's features exist in that cloud (`UpstreamCloud.available`). */
  readonly available: boolean;
}

/**
 * One upstream: its transport profile (headers, request-id header, error dialect) and everything else
 * the gateway knows of it. `S` is its id (`extensions.upstream.service`, metric label), `K` the
 * context's name for its client (`ctx.partnerCenter`).
 */
export interface UpstreamDescriptor<S extends string = string, K extends string = string, Client = unknown> extends Omit<UpstreamProfile, 'service'> {
  readonly service: S;
  /** The environment variable that overrides its API root (`PARTNER_CENTER_URL`). */
  readonly urlVariable: string;
  /** Its root, token resource and availability per national cloud. */
  readonly clouds: Readonly<Record<Cloud, UpstreamCloud>>;
  /** The scope asked for in the token exchange, from the cloud's token resource (no trailing slash). */
  tokenScope(resource: string): string;
  /** True when it accepts delegated (App+User) tokens only: app-only callers are refused before any call. */
  readonly delegatedOnly: boolean;
  /** Path probed by `/readyz` under its root: one unauthenticated GET, any HTTP answer is reachable. */
  readonly readinessPath: string;
  /** The context's name for its client. */
  readonly contextKey: K;
  /** Its client, bound to one caller. */
  createClient(options: UpstreamClientOptions): Client;
}
