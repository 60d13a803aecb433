/**
 * The embedded emulator: one small loopback HTTP server that behaves like Partner Center (`/v1`),
 * Microsoft Graph beta (`/beta`) and an Entra ID token issuer as docs/upstream.md describes them, used
 * by `npm start` with `UPSTREAM=emulator` and by tests on an ephemeral port.
 *
 * It is deliberately faithful rather than lenient: a gateway that works against it should work
 * against Microsoft. In test mode it also records requests and accepts injected faults, latency
 * and resets, in-process (the `Emulator` methods) or over HTTP under `/_emulator/*`.
 *
 * This folder imports nothing from the rest of the gateway.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { JWK } from 'jose';
import { FaultRegistry, faultFromJson } from './faults.js';
import type { FaultSpec } from './faults.js';
import { createGraphHandler, decorateGraph, graphFault } from './graph.js';
import { isPlainObject, parseJsonBody, sleep } from './messages.js';
import type { EmuRequest, EmuResponse, ServiceHandler } from './messages.js';
import { TokenIssuer, bearerToken, createIdentityHandler } from './identity.js';
import type { MintOptions } from './identity.js';
import { createPartnerCenterHandler, decoratePartnerCenter, partnerCenterFault } from './partner-center.js';
import { createPrng } from './seed-data.js';
import { EmulatorStore } from './state.js';

export {
  ALL_GATEWAY_SCOPES,
  EMULATOR_GATEWAY_AUDIENCE,
  GRAPH_RESOURCE,
  PARTNER_CENTER_RESOURCE,
  PERSONAL_ACCOUNT_TENANT_ID,
} from './constants.js';
export { seedData } from './seed-data.js';
export type { SeedData } from './seed-data.js';
export type { FaultSpec } from './faults.js';
export type { MintOptions } from './identity.js';

/** Options of `startEmulator`. */
export interface EmulatorOptions {
  /** Loopback address to bind; anything else is refused. @default '127.0.0.1' */
  host?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  /** Enables the request log, fault injection, reset and latency controls. @default false */
  testMode?: boolean;
  /** Fixed latency added to every Partner Center and Graph response. @default 0 */
  latencyMs?: number;
  /** Log one pino line per request (to stdout). @default false */
  logger?: boolean;
}

/** One request the emulator received (test mode). */
export interface RecordedRequest {
  service: 'partner-center' | 'graph' | 'identity' | 'control';
  /** Upper case. */
  method: string;
  /** Pathname + search, as received (for `$batch` sub-requests: `/beta` + the sub-request url). */
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the raw string, else `undefined`. */
  body: unknown;
  /** The status the emulator answered (0 when an injected fault reset the connection). */
  status: number;
  /** `Date.now()` when the request arrived. */
  at: number;
  /**
   * For `$batch` sub-requests (each also recorded on its own): `<batch request-id>#<sub-request id>`,
   * where the batch request-id is the `request-id` header of the `$batch` answer. The `$batch`
   * HTTP request itself is one entry without `batchOf`.
   */
  batchOf?: string;
  /**
   * Bytes of the answer's body as sent (UTF-8), for top-level requests once answered; a `$batch` envelope
   * counts its sub-answers, which have none of their own.
   */
  responseBytes?: number;
}

/** Which requests `requests()` and `nextRequest()` select; every given field must match. */
export interface RequestFilter {
  service?: RecordedRequest['service'];
  /** Any case. */
  method?: string;
  /** A string matches the pathname or pathname + search exactly; a RegExp is tested on the pathname. */
  path?: string | RegExp;
}

/** A request that has arrived (`nextRequest`). */
export interface ArrivedRequest {
  readonly service: RecordedRequest['service'];
  readonly method: string;
  readonly path: string;
  /** Its record, once handled. */
  readonly answered: Promise<RecordedRequest>;
}

/** A running emulator and its controls. */
export interface Emulator {
  /** Root URL, e.g. `http://127.0.0.1:54321` (Partner Center under `/v1`, Graph under `/beta`). */
  readonly url: string;
  /** = `url` (Partner Center root, without `/v1`). */
  readonly partnerCenterUrl: string;
  /** = `url` (Graph root, without `/beta`). */
  readonly graphUrl: string;
  /** `${url}/${tenantId}/v2.0`. */
  issuerFor(tenantId: string): string;
  /** `${url}/{tenantid}/v2.0` (Entra's multi-tenant placeholder form). */
  readonly issuerTemplate: string;
  /** `${url}/discovery/v2.0/keys`. */
  readonly jwksUrl: string;
  /** The public signing keys its JWKS publishes (rotated-in ones included). */
  publicKeys(): JWK[];
  /** Mints a token (for the gateway audience unless `audience` says otherwise). */
  mintToken(opts?: MintOptions): Promise<string>;
  /** Adds a signing key with a new `kid` and makes it current; old keys stay in the JWKS. Returns the new kid. */
  rotateKey(): Promise<string>;
  /** Recorded requests, oldest first (test mode). A string `path` matches the pathname or pathname + search exactly. */
  requests(filter?: RequestFilter): RecordedRequest[];
  /**
   * Resolves as soon as the next request matching `filter` arrives, before its fault (a delay) and its
   * handling (test mode): a test can act while that request is held. `answered` resolves with its record
   * once the emulator has handled it (applied it, for a write that passes through), whether or not its
   * client is still there to read the answer.
   */
  nextRequest(filter?: RequestFilter): Promise<ArrivedRequest>;
  /** Forgets the recorded requests (test mode). */
  clearRequests(): void;
  /** Adds a fault (test mode). */
  injectFault(fault: FaultSpec): void;
  /** Removes every fault (test mode). */
  clearFaults(): void;
  /** Sets the fixed latency of Partner Center and Graph responses (test mode). */
  setLatency(ms: number): void;
  /** Restores the seed data and clears the request log, faults, latency and idempotency memory (test mode). */
  reset(): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

/** Request bodies above this size are refused with 413 (Graph's own limit is 4 MB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The request log keeps the newest entries only, so long benchmarks don't grow without bound. */
const MAX_RECORDED = 50_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

type Service = RecordedRequest['service'];

/**
 * The `tid` claim of the request's bearer token, read without verifying it: only to match a fault scoped
 * to a tenant (the service handler verifies the token as it always does).
 */
function tokenTenant(headers: Record<string, string>): string | undefined {
  const payload = bearerToken(headers)?.split('.')[1];
  if (!payload) return undefined;
  try {
    const tid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown }).tid;
    return typeof tid === 'string' ? tid : undefined;
  } catch {
    return undefined;
  }
}

function serviceOf(pathname: string): Service {
  if (pathname === '/v1' || pathname.startsWith('/v1/')) return 'partner-center';
  if (pathname === '/beta' || pathname.startsWith('/beta/')) return 'graph';
  if (pathname.startsWith('/_emulator/')) return 'control';
  return 'identity';
}

/** Starts an emulator on a loopback address. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`The emulator binds to loopback addresses only, not '${host}'.`);
  const testMode = options.testMode ?? false;
  const initialLatency = options.latencyMs ?? 0;
  let latencyMs = initialLatency;
  const log = options.logger ? pino({ name: 'emulator' }) : undefined;

  let dispatchHttp: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (dispatchHttp) dispatchHttp(req, res);
    else {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'starting' }));
    }
  });
  // Malformed HTTP never reaches a handler: answer 400 and drop the connection, never crash.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const issuer = await TokenIssuer.create(url);
  const store = new EmulatorStore();
  const faults = new FaultRegistry();
  let recorded: RecordedRequest[] = [];
  const shuffle = createPrng(0xba7c4);

  /** Tests waiting for a request to arrive (`nextRequest`). */
  let arrivalWaiters: Array<{ readonly filter: RequestFilter; readonly resolve: (arrived: ArrivedRequest) => void }> = [];
  /** Tells the waiters whose filter matches this arriving request; returns how to settle its `answered`. */
  const arrived = (service: Service, method: string, path: string): ((entry: RecordedRequest) => void) | undefined => {
    const matching = arrivalWaiters.filter((w) => requestMatches({ service, method, path }, w.filter));
    if (matching.length === 0) return undefined;
    arrivalWaiters = arrivalWaiters.filter((w) => !matching.includes(w));
    let settle!: (entry: RecordedRequest) => void;
    const answered = new Promise<RecordedRequest>((resolve) => (settle = resolve));
    for (const waiter of matching) waiter.resolve({ service, method, path, answered });
    return settle;
  };

  /** The log entry of each top-level answer not yet sent, to note its size once it is serialized. */
  const unsent = new WeakMap<EmuResponse, RecordedRequest>();
  const record = (entry: RecordedRequest): void => {
    if (!testMode) return;
    recorded.push(entry);
    if (recorded.length > MAX_RECORDED) recorded = recorded.slice(-Math.floor(MAX_RECORDED * 0.9));
  };

  const handlers: Record<Exclude<Service, 'control'>, ServiceHandler> = {
    'partner-center': createPartnerCenterHandler({ issuer, store }),
    graph: createGraphHandler({
      issuer,
      store,
      baseUrl: url,
      random: shuffle,
      runSubRequest: (sub, batchMarker) => dispatch('graph', sub, batchMarker),
    }),
    identity: createIdentityHandler(issuer, url),
  };

  const faultResponse = (service: Service, req: EmuRequest, fault: FaultSpec, status: number): EmuResponse => {
    let res: EmuResponse;
    if (service === 'partner-center') res = partnerCenterFault(status, fault.retryAfter);
    else if (service === 'graph') res = graphFault(req, status);
    else res = { status, headers: {}, body: { error: status === 429 ? 'temporarily_unavailable' : 'server_error', error_description: `Injected fault: HTTP ${status}.` } };
    if (fault.body !== undefined) res.body = fault.body;
    if (fault.retryAfter !== undefined) res.headers['retry-after'] = fault.retryAfter;
    for (const [k, v] of Object.entries(fault.headers ?? {})) res.headers[k.toLowerCase()] = v;
    return res;
  };

  /**
   * Runs one request through faults, the service handler, latency and the request log. Top-level
   * requests get the service's response headers; `$batch` sub-requests (with a `batchMarker`) are
   * answered inside the batch, so they get neither those headers nor the latency.
   */
  async function dispatch(service: Exclude<Service, 'control'>, req: EmuRequest, batchMarker?: string): Promise<EmuResponse> {
    const at = Date.now();
    const settleArrival = arrivalWaiters.length > 0 ? arrived(service, req.method, req.rawPath) : undefined;
    let res: EmuResponse;
    try {
      const fault = testMode ? faults.take(req.method, req.pathname, tokenTenant(req.headers)) : undefined;
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.reset) res = { status: 0, headers: {}, destroySocket: true };
      else if (fault?.status !== undefined) res = faultResponse(service, req, fault, fault.status);
      else res = await handlers[service](req);
    } catch (err) {
      // Never crash on bad input: an unexpected failure is a 500 in the service's own shape.
      log?.error({ err, method: req.method, path: req.rawPath }, 'emulator handler failed');
      res = faultResponse(service, req, { path: req.pathname }, 500);
    }
    if (batchMarker === undefined && !res.destroySocket) {
      if (service === 'partner-center' || service === 'graph') await sleep(latencyMs);
      if (service === 'partner-center') decoratePartnerCenter(req, res);
      else if (service === 'graph') decorateGraph(req, res);
      else if ((res.body !== undefined) && res.headers['content-type'] === undefined) {
        res.headers['content-type'] = 'application/json; charset=utf-8';
      }
    }
    const entry: RecordedRequest = {
      service,
      method: req.method,
      path: req.rawPath,
      headers: { ...req.headers },
      body: recordedBody(req.bodyText),
      status: res.status,
      at,
      ...(batchMarker !== undefined ? { batchOf: batchMarker } : {}),
    };
    record(entry);
    settleArrival?.(entry);
    if (testMode && batchMarker === undefined) unsent.set(res, entry);
    return res;
  }

  const requireTestMode = (what: string): void => {
    if (!testMode) throw new Error(`emulator.${what}() needs an emulator started with testMode: true`);
  };

  const emulator: Emulator = {
    url,
    partnerCenterUrl: url,
    graphUrl: url,
    issuerFor: (tenantId) => issuer.issuerFor(tenantId),
    issuerTemplate: `${url}/{tenantid}/v2.0`,
    jwksUrl: `${url}/discovery/v2.0/keys`,
    publicKeys: () => issuer.jwks().keys,
    mintToken: (opts) => issuer.mint(opts),
    rotateKey: () => issuer.rotate(),
    requests(filter = {}) {
      requireTestMode('requests');
      return recorded.filter((r) => requestMatches(r, filter));
    },
    nextRequest(filter = {}) {
      requireTestMode('nextRequest');
      return new Promise((resolve) => arrivalWaiters.push({ filter, resolve }));
    },
    clearRequests() {
      requireTestMode('clearRequests');
      recorded = [];
    },
    injectFault(fault) {
      requireTestMode('injectFault');
      faults.add(fault);
    },
    clearFaults() {
      requireTestMode('clearFaults');
      faults.clear();
    },
    setLatency(ms) {
      requireTestMode('setLatency');
      if (!(typeof ms === 'number' && ms >= 0)) throw new TypeError('latency must be a non-negative number of milliseconds');
      latencyMs = ms;
    },
    reset() {
      requireTestMode('reset');
      store.reset();
      faults.clear();
      recorded = [];
      latencyMs = initialLatency;
    },
    close() {
      dispatchHttp = undefined;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  // --- HTTP control API under /_emulator ---

  const control = async (req: EmuRequest): Promise<EmuResponse> => {
    const ok = (body: unknown, status = 200): EmuResponse => ({ status, headers: {}, body });
    const fail = (status: number, message: string): EmuResponse => ({ status, headers: {}, body: { error: message } });
    const jsonBody = (): { value: unknown } | EmuResponse => {
      const parsed = parseJsonBody(req.bodyText);
      if (parsed.kind === 'invalid') return fail(400, 'the body is not valid JSON');
      return { value: parsed.kind === 'json' ? parsed.value : {} };
    };
    const route = `${req.method} ${req.pathname}`;

    if (route === 'POST /_emulator/tokens') {
      // Always available: the dev token CLI (`npm run token`) mints through it.
      const body = jsonBody();
      if ('status' in body) return body;
      const opts = mintOptionsFromJson(body.value);
      if (typeof opts === 'string') return fail(400, opts);
      return ok({ token: await issuer.mint(opts) });
    }
    if (!testMode) return fail(404, `no such emulator control: ${route} (test mode is off)`);
    try {
      switch (route) {
        case 'GET /_emulator/requests': {
          const service = req.query.get('service') ?? undefined;
          const method = req.query.get('method') ?? undefined;
          const path = req.query.get('path') ?? undefined;
          return ok(emulator.requests({ service: service as Service | undefined, method, path }));
        }
        case 'DELETE /_emulator/requests':
          emulator.clearRequests();
          return { status: 204, headers: {} };
        case 'POST /_emulator/faults': {
          const body = jsonBody();
          if ('status' in body) return body;
          emulator.injectFault(faultFromJson(body.value));
          return { status: 204, headers: {} };
        }
        case 'DELETE /_emulator/faults':
          emulator.clearFaults();
          return { status: 204, headers: {} };
        case 'PUT /_emulator/latency': {
          const body = jsonBody();
          if ('status' in body) return body;
          const ms = isPlainObject(body.value) ? body.value.ms : undefined;
          emulator.setLatency(ms as number);
          return { status: 204, headers: {} };
        }
        case 'POST /_emulator/reset':
          emulator.reset();
          return { status: 204, headers: {} };
        default:
          return fail(404, `no such emulator control: ${route}`);
      }
    } catch (err) {
      return fail(400, err instanceof Error ? err.message : String(err));
    }
  };

  // --- HTTP plumbing ---

  dispatchHttp = (httpReq, httpRes) => {
    void handleHttp(httpReq, httpRes).catch((err: unknown) => {
      log?.error({ err }, 'emulator request failed');
      if (!httpRes.headersSent) {
        httpRes.writeHead(500, { 'content-type': 'application/json' });
        httpRes.end(JSON.stringify({ error: 'internal emulator error' }));
      } else httpRes.destroy();
    });
  };

  async function handleHttp(httpReq: IncomingMessage, httpRes: ServerResponse): Promise<void> {
    const rawPath = httpReq.url ?? '/';
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(rawPath.startsWith('/') ? `http://emulator${rawPath}` : rawPath);
    } catch {
      httpRes.writeHead(400, { 'content-type': 'application/json' });
      httpRes.end(JSON.stringify({ error: 'malformed request target' }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(httpReq.headers)) {
      if (value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const body = await readBody(httpReq);
    const req: EmuRequest = {
      method: (httpReq.method ?? 'GET').toUpperCase(),
      pathname: parsedUrl.pathname,
      query: parsedUrl.searchParams,
      rawPath,
      headers,
      bodyText: body === 'too-large' ? undefined : body,
      requestId: randomUUID(),
      inBatch: false,
    };
    const service = serviceOf(req.pathname);
    let res: EmuResponse;
    if (body === 'too-large') {
      res = faultResponse(service, req, { path: req.pathname }, 413);
    } else if (service === 'control') {
      res = await control(req);
      if (res.body !== undefined) res.headers['content-type'] = 'application/json; charset=utf-8';
      if (!(req.method === 'GET' && req.pathname === '/_emulator/requests')) {
        record({ service, method: req.method, path: rawPath, headers, body: recordedBody(req.bodyText), status: res.status, at: Date.now() });
      }
    } else {
      res = await dispatch(service, req);
    }
    log?.info({ service, method: req.method, path: rawPath, status: res.destroySocket ? 'reset' : res.status }, 'emulator request');
    if (res.destroySocket) {
      // A TCP RST, so the client sees ECONNRESET rather than a clean close.
      const socket = httpReq.socket;
      if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
      return;
    }
    const payload = res.rawBody ?? (res.body !== undefined ? JSON.stringify(res.body) : undefined);
    const entry = unsent.get(res);
    if (entry) entry.responseBytes = payload === undefined ? 0 : Buffer.byteLength(payload);
    httpRes.writeHead(res.status, res.headers);
    httpRes.end(payload);
  }

  return emulator;
}

function requestMatches(r: Pick<RecordedRequest, 'service' | 'method' | 'path'>, filter: RequestFilter): boolean {
  if (filter.service !== undefined && r.service !== filter.service) return false;
  if (filter.method !== undefined && r.method !== filter.method.toUpperCase()) return false;
  if (filter.path !== undefined) {
    const pathname = r.path.split('?')[0]!;
    if (filter.path instanceof RegExp) return new RegExp(filter.path.source, filter.path.flags.replace(/[gy]/g, '')).test(pathname);
    return r.path === filter.path || pathname === filter.path;
  }
  return true;
}

function readBody(req: IncomingMessage): Promise<string | undefined | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) resolve('too-large');
      else resolve(size === 0 ? undefined : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function recordedBody(text: string | undefined): unknown {
  const parsed = parseJsonBody(text);
  if (parsed.kind === 'json') return parsed.value;
  return text === undefined || text === '' ? undefined : text;
}

/** Validates a JSON `MintOptions` (HTTP control API); returns an error message when invalid. */
function mintOptionsFromJson(value: unknown): MintOptions | string {
  if (!isPlainObject(value)) return 'the body must be a JSON object of MintOptions';
  const strings = ['scp', 'tenantId', 'objectId', 'name', 'preferredUsername', 'audience', 'issuer', 'kid'] as const;
  const numbers = ['expiresInSeconds', 'notBeforeOffsetSeconds'] as const;
  const opts: MintOptions = {};
  for (const key of strings) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `${key} must be a string`;
    opts[key] = v;
  }
  for (const key of numbers) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${key} must be a number`;
    opts[key] = v;
  }
  if (value.roles !== undefined) {
    if (!Array.isArray(value.roles) || value.roles.some((r) => typeof r !== 'string')) return 'roles must be an array of strings';
    opts.roles = value.roles as string[];
  }
  if (value.msa !== undefined) {
    if (typeof value.msa !== 'boolean') return 'msa must be a boolean';
    opts.msa = value.msa;
  }
  return opts;
}
