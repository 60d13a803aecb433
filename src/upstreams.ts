/**
 * The upstreams the gateway calls: the one list of their descriptors (src/upstream/descriptor.ts).
 * A new upstream is its descriptor and client (a module in src/upstream/), its line here, and its
 * emulator; the config, token source, error model, `/readyz`, metrics and context read it from here.
 */
import { GRAPH } from './upstream/graph.js';
import { PARTNER_CENTER } from './upstream/partner-center.js';
import type { UpstreamDescriptor } from './upstream/descriptor.js';

/** Every upstream, in the order configuration errors, `/readyz` and metrics list them. */
export const UPSTREAMS = [PARTNER_CENTER, GRAPH] as const;

/** One of the upstreams' descriptors. */
export type Upstream = (typeof UPSTREAMS)[number];

/** An upstream's id (`extensions.upstream.service`, the `service` metric label). */
export type UpstreamService = Upstream['service'];

/** The upstreams' ids, in order. */
export const UPSTREAM_SERVICES: readonly UpstreamService[] = UPSTREAMS.map((upstream) => upstream.service);

/** The upstream clients of one caller, by the context's name for each (`ctx.partnerCenter`, `ctx.graph`). */
export type UpstreamClients = { readonly [U in Upstream as U['contextKey']]: ReturnType<U['createClient']> };

const BY_SERVICE: ReadonlyMap<string, UpstreamDescriptor> = new Map(UPSTREAMS.map((upstream) => [upstream.service, upstream]));

/** The descriptor of `service`. */
export function upstreamDescriptor(service: UpstreamService): Upstream {
  return BY_SERVICE.get(service) as Upstream;
}
