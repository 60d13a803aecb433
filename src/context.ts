/**
 * Builds the per-request context: correlation id, the caller's principal, upstream clients bound to
 * this caller, and per-request DataLoaders. Nothing here outlives the request (dataloader's README:
 * create loaders per request), so one caller's data can never be served to another.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { BadUserInputError, GatewayError, requestLevelError } from './errors.js';
import type { Principal } from './auth/principal.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { UpstreamTokenSource } from './auth/upstream-tokens.js';
import type { UpstreamTransport, UpstreamCaller } from './upstream/transport.js';
import type { UpstreamReads } from './upstream/read-through.js';
import { isValidIdempotencyKey } from './upstream/request-id.js';
import { UPSTREAMS, type Upstream, type UpstreamClients } from './upstreams.js';
import { createCustomerUserLoader, type CustomerUserLoader } from './features/customer-users/loaders.js';
import { createExternalUserProfileLoader, type ExternalUserProfileLoader } from './features/external-user-profiles/loaders.js';
import type { KeyedLock } from './state/index.js';

/**
 * The one context type used everywhere: `ApolloServer<Context>`, `AuthChecker<Context>`, resolvers.
 * It holds each upstream's client bound to this caller under its descriptor's `contextKey`
 * (`ctx.partnerCenter`, `ctx.graph`), created on first use.
 */
export interface Context extends UpstreamClients {
  readonly correlationId: string;
  /** Child logger carrying the correlation id. */
  readonly log: Logger;
  /** The verified caller, or null when the request carried no token. */
  readonly principal: Principal | null;
  /** Operation name/type, filled by the logging plugin and read by the request log line. */
  readonly operation: OperationInfo;
  /** The client's `Idempotency-Key` header, already validated. */
  readonly idempotencyKey: string | undefined;
  /** The lock by key (a partner's support-profile read-merge-PUT), shared by replicas with Redis. */
  readonly keyedLock: KeyedLock;
  /** Per-request DataLoaders (created on first use). */
  readonly loaders: {
    readonly customerUsers: CustomerUserLoader;
    readonly externalUserProfiles: ExternalUserProfileLoader;
  };
}

export interface ContextDependencies {
  readonly config: Config;
  readonly log: Logger;
  readonly verifier: TokenVerifier;
  readonly upstreamTokens: UpstreamTokenSource;
  readonly transport: UpstreamTransport;
  /** The read-through layer over the transport (coalescing, response cache). @default none: straight to the transport */
  readonly reads?: UpstreamReads;
  /** Key protecting opaque paging cursors. */
  readonly cursorKey: Buffer;
  readonly keyedLock: KeyedLock;
  /**
   * The caller's trace headers to forward upstream unchanged (tracing off), from the request's headers.
   * @default none forwarded
   */
  readonly traceHeaders?: (headers: FastifyRequest['headers']) => Readonly<Record<string, string>> | undefined;
  /** Told the size of each DataLoader batch (metrics). @default none */
  readonly onLoaderBatch?: LoaderBatchObserver;
}

/** Told the size of each DataLoader batch, by loader. */
export type LoaderBatchObserver = (loader: 'customer_user' | 'external_user_profile', size: number) => void;


/** What the request log line says about the GraphQL operation. */
export interface OperationInfo {
  operationName?: string;
  operationType?: string;
  /** `hit` once an upstream answer of the request came from the response cache. */
  cache?: 'hit';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the context function; filled once Apollo resolves the operation. */
    graphqlOperation?: OperationInfo;
  }
}

/** Returns the Apollo context function for the Fastify integration. */
export function createContextFunction(deps: ContextDependencies) {
  const { config, verifier, upstreamTokens, transport, reads, cursorKey, keyedLock, onLoaderBatch, traceHeaders } = deps;
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<Context> => {
    // Fastify's request id is the correlation id (plugins/correlation-id.ts).
    const correlationId = request.id;
    const log = request.log as unknown as Logger;
    const operation: OperationInfo = {};
    request.graphqlOperation = operation;

    let principal: Principal | null;
    try {
      principal = await verifier.verify(request.headers.authorization);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED') {
        // RFC 6750 §3: tell the client why its bearer token was refused.
        throw requestLevelError(error, 401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      // Signing keys unreachable: the token may be fine, so the client should retry, not sign out.
      if (error instanceof GatewayError) throw requestLevelError(error, 503);
      throw error;
    }

    const rawKey = request.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(rawKey) ? rawKey[0] : rawKey;
    if (idempotencyKey !== undefined && !isValidIdempotencyKey(idempotencyKey)) {
      throw requestLevelError(new BadUserInputError('Idempotency-Key', 'must be 1 to 255 printable ASCII characters'), 400);
    }

    const caller: UpstreamCaller = {
      correlationId,
      getToken: (service) => {
        if (!principal) throw new Error('upstream call without a principal: the auth checker must run first');
        return upstreamTokens.forCaller(principal)(service);
      },
      idempotency:
        principal && idempotencyKey ? { tenantId: principal.tenantId, objectId: principal.objectId, key: idempotencyKey } : undefined,
      tenantId: principal?.tenantId,
      // Upstream answers are shared (coalesced reads, the response cache) only within one principal.
      principalKey: principal ? `${principal.kind}:${principal.tenantId}:${principal.objectId}` : undefined,
      onCacheHit: () => {
        operation.cache = 'hit';
      },
      traceHeaders: traceHeaders?.(request.headers),
    };

    const upstream: UpstreamClientFactory = (descriptor) => {
      const endpoint = config.upstreams[descriptor.service];
      return descriptor.createClient({ transport, reads, baseUrl: endpoint.url, available: endpoint.available, cloud: config.cloud, caller, cursorKey });
    };
    return new RequestContext(correlationId, log, operation, principal, idempotencyKey, keyedLock, upstream, onLoaderBatch);
  };
}

/** Builds an upstream's client for this request's caller. */
type UpstreamClientFactory = (upstream: Upstream) => unknown;

/**
 * The context of one request. Clients and loaders are created on first use, so a request that never
 * touches an upstream pays for none of them. The getters live on the prototype on purpose: Apollo
 * copies the context object per operation (own properties only), and own getters would be invoked
 * by that copy, building every client for every request.
 */
interface RequestContext extends UpstreamClients {}
class RequestContext implements Context {
  /** The upstream clients built so far, by service. */
  private readonly clients: Partial<Record<Upstream['service'], unknown>> = {};
  private requestLoaders: RequestLoaders | undefined;

  constructor(
    readonly correlationId: string,
    readonly log: Logger,
    readonly operation: OperationInfo,
    readonly principal: Principal | null,
    readonly idempotencyKey: string | undefined,
    readonly keyedLock: KeyedLock,
    private readonly upstream: UpstreamClientFactory,
    private readonly onLoaderBatch: LoaderBatchObserver | undefined,
  ) {}

  /** The upstream's client, built on first use. */
  client(upstream: Upstream): unknown {
    return (this.clients[upstream.service] ??= this.upstream(upstream));
  }

  get loaders(): RequestLoaders {
    return (this.requestLoaders ??= new RequestLoaders(this, this.onLoaderBatch));
  }
}

// One getter per upstream on the prototype (`ctx.partnerCenter`, `ctx.graph`), named by its descriptor.
for (const upstream of UPSTREAMS) {
  Object.defineProperty(RequestContext.prototype, upstream.contextKey, {
    get(this: RequestContext) {
      return this.client(upstream);
    },
    configurable: true,
  });
}

/** Per-request DataLoaders, each created on first use over its upstream client. */
class RequestLoaders {
  private customerUserLoader: CustomerUserLoader | undefined;
  private externalUserProfileLoader: ExternalUserProfileLoader | undefined;

  constructor(
    private readonly context: Pick<Context, 'partnerCenter' | 'graph'>,
    private readonly onBatch: LoaderBatchObserver | undefined,
  ) {}

  get customerUsers(): CustomerUserLoader {
    const onBatch = this.onBatch;
    return (this.customerUserLoader ??= createCustomerUserLoader(this.context.partnerCenter, onBatch && ((size) => onBatch('customer_user', size))));
  }

  get externalUserProfiles(): ExternalUserProfileLoader {
    const onBatch = this.onBatch;
    return (this.externalUserProfileLoader ??= createExternalUserProfileLoader(this.context.graph, onBatch && ((size) => onBatch('external_user_profile', size))));
  }
}
