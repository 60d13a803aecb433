/**
 * Microsoft Graph beta (`/beta`) as docs/upstream.md §2 describes it: externalUserProfile get/list
 * (with `@odata.nextLink` paging)/update/delete, JSON `$batch` (max 20, answers in any order,
 * sub-requests throttled alone), and OData errors `{ error: { code, message, innerError } }`.
 */
import { randomUUID } from 'node:crypto';
import { GRAPH_RESOURCE, PERSONAL_ACCOUNT_TENANT_ID } from './constants.js';
import { isGuid, isPlainObject, mediaType, parseJsonBody, pathSegments } from './messages.js';
import type { EmuRequest, EmuResponse, ServiceHandler } from './messages.js';
import { bearerToken } from './identity.js';
import type { TokenIssuer, VerifiedToken } from './identity.js';
import type { StoredAddress, StoredExternalUserProfile } from './seed-data.js';
import { pageAfter, type EmulatorStore } from './state.js';

/** Graph's JSON media type (OData minimal metadata), as the real service labels its bodies. */
const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const MAX_BATCH_REQUESTS = 20;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 999;
const SKIPTOKEN_PURPOSE = 'graph-eup-skiptoken';

const READ_PERMISSIONS = ['ExternalUserProfile.Read.All', 'ExternalUserProfile.ReadWrite.All'];
const WRITE_PERMISSIONS = ['ExternalUserProfile.ReadWrite.All'];

/** The properties that can be updated after redemption (docs/upstream.md §2.2). */
const UPDATABLE = new Set(['address', 'companyName', 'department', 'displayName', 'isDiscoverable', 'isEnabled', 'jobTitle', 'supervisorId']);
const PROFILE_PROPERTIES = [
  'id', 'address', 'companyName', 'createdBy', 'createdDateTime', 'deletedDateTime', 'department', 'displayName',
  'isDiscoverable', 'isEnabled', 'jobTitle', 'phoneNumber', 'supervisorId',
] as const;
const ADDRESS_PROPERTIES = ['city', 'countryOrRegion', 'officeLocation', 'postalCode', 'state', 'street'] as const;

/** Graph error codes per HTTP status for injected faults (docs/upstream.md §2.5). */
const FAULT_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'InvalidAuthenticationToken',
  403: 'Authorization_RequestDenied',
  404: 'Request_ResourceNotFound',
  409: 'Request_MultipleObjectsWithSameKeyValue',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'generalException',
  503: 'serviceNotAvailable',
  504: 'UnknownError',
};

/** The ids a Graph error's `innerError` repeats. */
function clientRequestId(req: EmuRequest): string {
  const given = req.headers['client-request-id'];
  return isGuid(given) ? given : req.requestId;
}

function innerDate(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, '');
}

/** A Graph OData error answer. */
export function graphError(req: EmuRequest, status: number, code: string, message: string): EmuResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: {
      error: {
        code,
        message,
        innerError: { date: innerDate(), 'request-id': req.requestId, 'client-request-id': clientRequestId(req) },
      },
    },
  };
}

/** The answer of an injected fault with this status, in Graph's own shape. */
export function graphFault(req: EmuRequest, status: number): EmuResponse {
  if (status === 429) {
    // The documented throttling sample (docs/upstream.md §2.5).
    return {
      status,
      headers: { 'content-type': 'application/json' },
      body: {
        error: {
          code: 'TooManyRequests',
          message: 'Please retry again later.',
          innerError: { code: '429', status: '429', date: innerDate(), 'request-id': req.requestId, 'client-request-id': clientRequestId(req) },
        },
      },
    };
  }
  return graphError(req, status, FAULT_CODES[status] ?? (status >= 500 ? 'generalException' : 'BadRequest'), `Injected fault: HTTP ${status}.`);
}

/** Adds the headers Graph sends on every top-level answer (docs/upstream.md §2.5). */
export function decorateGraph(req: EmuRequest, res: EmuResponse): void {
  res.headers['request-id'] = req.requestId;
  // Graph echoes the caller's client-request-id, or repeats its own request-id when none was sent.
  res.headers['client-request-id'] = clientRequestId(req);
  res.headers['x-ms-ags-diagnostic'] = JSON.stringify({
    ServerInfo: { DataCenter: 'Emulator', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'emulator-0' },
  });
  res.headers['cache-control'] ??= 'no-cache';
  if ((res.body !== undefined || res.rawBody !== undefined) && res.headers['content-type'] === undefined) {
    res.headers['content-type'] = ODATA_JSON;
  }
}

/** What the Graph handler needs from the emulator. */
export interface GraphDeps {
  issuer: TokenIssuer;
  store: EmulatorStore;
  /** Emulator root URL (nextLinks are absolute URLs on the emulator's own host). */
  baseUrl: string;
  /** Random source for the order of `$batch` answers. */
  random: () => number;
  /** Runs one `$batch` sub-request through the emulator (faults, request log) as if sent alone. */
  runSubRequest: (sub: EmuRequest, batchMarker: string) => Promise<EmuResponse>;
}

/** Creates the Graph (`/beta`) request handler. */
export function createGraphHandler(deps: GraphDeps): ServiceHandler {
  const { issuer, store, baseUrl } = deps;

  const handler: ServiceHandler = async (req) => {
    const given = req.headers['client-request-id'];
    if (!req.inBatch && given !== undefined && !isGuid(given)) {
      return graphError(req, 400, 'BadRequest', "The client-request-id header must be a GUID.");
    }
    const token = bearerToken(req.headers);
    const checked = await issuer.verify(token, GRAPH_RESOURCE);
    if (!checked.ok) {
      const res = graphError(req, 401, 'InvalidAuthenticationToken', checked.message);
      res.headers['www-authenticate'] =
        `Bearer realm="", authorization_uri="${baseUrl}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`;
      return res;
    }
    const caller = checked.token;

    const segments = pathSegments(req.pathname);
    if (segments === undefined || segments[0] !== 'beta') return unknownSegment(req, segments?.[0] ?? req.pathname);
    const rest = segments.slice(1);

    if (rest.length === 1 && rest[0] === '$batch') {
      if (req.inBatch) return graphError(req, 400, 'BadRequest', 'Nested batch requests are not supported.');
      if (req.method !== 'POST') return methodNotAllowed(req);
      return batch(req, token ?? '');
    }
    if (rest[0] !== 'directory') return unknownSegment(req, rest[0] ?? 'beta');
    if (rest[1] !== 'externalUserProfiles') return unknownSegment(req, rest[1] ?? 'directory');
    if (rest.length > 3) return unknownSegment(req, rest[3]!);

    const write = req.method !== 'GET';
    const denied = authorize(req, caller, write ? WRITE_PERMISSIONS : READ_PERMISSIONS);
    if (denied) return denied;

    if (rest.length === 2) {
      if (req.method === 'GET') return list(req);
      return methodNotAllowed(req);
    }
    const id = rest[2]!;
    if (req.method === 'GET') return getOne(req, id);
    if (req.method === 'PATCH') return patch(req, id);
    if (req.method === 'DELETE') return remove(req, id);
    return methodNotAllowed(req);
  };

  // --- permissions (docs/upstream.md §2.3) ---

  function authorize(req: EmuRequest, caller: VerifiedToken, accepted: string[]): EmuResponse | undefined {
    // Personal Microsoft accounts are "not supported" for every externalUserProfile operation.
    if (caller.tid === PERSONAL_ACCOUNT_TENANT_ID) {
      return graphError(req, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
    // Delegated tokens hold their permissions in scp, app-only tokens in roles.
    const held = caller.appOnly ? caller.roles : caller.scopes;
    if (!held.some((p) => accepted.includes(p))) {
      return graphError(req, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
    return undefined;
  }

  // --- externalUserProfiles ---

  function liveProfile(id: string): StoredExternalUserProfile | undefined {
    const profile = store.data.externalUserProfiles.get(id) ?? store.data.externalUserProfiles.get(id.toLowerCase());
    return profile && profile.deletedDateTime === null ? profile : undefined;
  }

  function notFound(req: EmuRequest, id: string): EmuResponse {
    return graphError(req, 404, 'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  }

  function getOne(req: EmuRequest, id: string): EmuResponse {
    const options = readQueryOptions(req, ['$select']);
    if ('status' in options) return options;
    const profile = liveProfile(id);
    if (!profile) return notFound(req, id);
    const context = `${baseUrl}/beta/$metadata#directory/externalUserProfiles${options.select ? `(${options.select.join(',')})` : ''}/$entity`;
    return { status: 200, headers: {}, body: { '@odata.context': context, ...profileJson(profile, options.select) } };
  }

  function list(req: EmuRequest): EmuResponse {
    const options = readQueryOptions(req, ['$select', '$top', '$skiptoken', '$filter']);
    if ('status' in options) return options;
    const top = options.top ?? DEFAULT_PAGE_SIZE;
    let after: string | undefined;
    if (options.skiptoken !== undefined) {
      const state = store.unseal(SKIPTOKEN_PURPOSE, options.skiptoken) as { k?: unknown } | undefined;
      if (!state || typeof state.k !== 'string') {
        return graphError(req, 400, 'Directory_ExpiredPageToken', 'The specified page token value has expired or is invalid.');
      }
      after = state.k;
    }
    const { items: page, more } = pageAfter(
      [...store.data.externalUserProfiles.values()],
      after,
      top,
      (p) => p.deletedDateTime === null && (!options.filter || options.filter(p)),
    );
    const body: Record<string, unknown> = {
      '@odata.context': `${baseUrl}/beta/$metadata#directory/externalUserProfiles${options.select ? `(${options.select.join(',')})` : ''}`,
      value: page.map((p) => profileJson(p, options.select)),
    };
    if (more) {
      // An absolute URL on our own host with an opaque $skiptoken, to be followed verbatim.
      const parts: string[] = [];
      if (options.top !== undefined) parts.push(`$top=${options.top}`);
      if (options.rawSelect !== undefined) parts.push(`$select=${encodeURIComponent(options.rawSelect)}`);
      if (options.rawFilter !== undefined) parts.push(`$filter=${encodeURIComponent(options.rawFilter)}`);
      parts.push(`$skiptoken=${store.seal(SKIPTOKEN_PURPOSE, { k: page[page.length - 1]!.id })}`);
      body['@odata.nextLink'] = `${baseUrl}/beta/directory/externalUserProfiles?${parts.join('&')}`;
    }
    return { status: 200, headers: {}, body };
  }

  function patch(req: EmuRequest, id: string): EmuResponse {
    if (mediaType(req.headers) !== 'application/json') {
      return graphError(req, 415, 'BadRequest', 'The Content-Type header must be application/json.');
    }
    const parsed = parseJsonBody(req.bodyText);
    if (parsed.kind !== 'json' || !isPlainObject(parsed.value)) {
      return graphError(req, 400, 'BadRequest',
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
    }
    const profile = liveProfile(id);
    if (!profile) return notFound(req, id);
    const body = parsed.value;
    const changes: Partial<StoredExternalUserProfile> = {};
    for (const [key, value] of Object.entries(body)) {
      if (key === '@odata.type') {
        if (typeof value !== 'string') return graphError(req, 400, 'invalidRequest', "Invalid value for '@odata.type'.");
        continue;
      }
      if (!UPDATABLE.has(key)) {
        const readOnly = (PROFILE_PROPERTIES as readonly string[]).includes(key);
        return graphError(req, 400, 'invalidRequest',
          readOnly ? `Property '${key}' is read-only and cannot be updated.` : `Invalid property '${key}'.`);
      }
      const typeError = (expected: string): EmuResponse =>
        graphError(req, 400, 'invalidRequest', `Invalid value for property '${key}': expected ${expected}.`);
      switch (key) {
        case 'isDiscoverable':
        case 'isEnabled':
          if (typeof value !== 'boolean') return typeError('a boolean');
          changes[key] = value;
          break;
        case 'displayName':
          if (typeof value !== 'string' || value.trim() === '') return typeError('a non-empty string');
          changes.displayName = value;
          break;
        case 'companyName':
        case 'department':
        case 'jobTitle':
        case 'supervisorId':
          if (value !== null && typeof value !== 'string') return typeError('a string or null');
          changes[key] = value;
          break;
        case 'address': {
          if (value === null) {
            changes.address = null;
            break;
          }
          if (!isPlainObject(value)) return typeError('a physicalOfficeAddress object or null');
          // A complex property: the given value replaces the whole stored address.
          const address: StoredAddress = {};
          for (const name of ADDRESS_PROPERTIES) address[name] = null;
          for (const [k, v] of Object.entries(value)) {
            if (k === '@odata.type') continue;
            if (!(ADDRESS_PROPERTIES as readonly string[]).includes(k)) {
              return graphError(req, 400, 'invalidRequest', `Invalid property '${k}' on type 'microsoft.graph.physicalOfficeAddress'.`);
            }
            if (v !== null && typeof v !== 'string') return typeError(`a string or null for '${k}'`);
            address[k as keyof StoredAddress] = v;
          }
          changes.address = address;
          break;
        }
      }
    }
    Object.assign(profile, changes);
    // 204 with no body: the documented example and OpenAPI (docs/upstream.md §2.2 [CONFLICT]).
    return { status: 204, headers: {} };
  }

  function remove(req: EmuRequest, id: string): EmuResponse {
    const profile = liveProfile(id);
    if (!profile) return notFound(req, id);
    profile.deletedDateTime = new Date().toISOString();
    return { status: 204, headers: {} };
  }

  // --- $batch (docs/upstream.md §2.6) ---

  async function batch(req: EmuRequest, token: string): Promise<EmuResponse> {
    if (mediaType(req.headers) !== 'application/json') {
      return graphError(req, 400, 'BadRequest', 'The Content-Type header of a batch request must be application/json.');
    }
    const parsed = parseJsonBody(req.bodyText);
    if (parsed.kind !== 'json' || !isPlainObject(parsed.value) || !Array.isArray(parsed.value.requests)) {
      return graphError(req, 400, 'BadRequest', "Invalid batch payload: expected an object with a 'requests' array.");
    }
    const requests = parsed.value.requests as unknown[];
    if (requests.length === 0) return graphError(req, 400, 'BadRequest', 'Invalid batch payload: no requests.');
    if (requests.length > MAX_BATCH_REQUESTS) {
      return graphError(req, 400, 'BadRequest', `Invalid batch payload: the number of requests exceeds the limit of ${MAX_BATCH_REQUESTS}.`);
    }

    interface SubSpec { id: string; method: string; url: string; headers: Record<string, string>; body: unknown; dependsOn: string[] }
    const specs: SubSpec[] = [];
    const seen = new Set<string>();
    for (const item of requests) {
      const bad = (why: string): EmuResponse => graphError(req, 400, 'BadRequest', `Invalid batch payload: ${why}`);
      if (!isPlainObject(item)) return bad('every request must be an object.');
      const { id, method, url } = item;
      if (typeof id !== 'string' || id === '') return bad("every request needs a non-empty string 'id'.");
      if (seen.has(id.toLowerCase())) return bad(`duplicate request id '${id}'.`);
      seen.add(id.toLowerCase());
      if (typeof method !== 'string' || !['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method.toUpperCase())) {
        return bad(`request '${id}' needs a valid 'method'.`);
      }
      if (typeof url !== 'string' || url === '' || /^[a-z][a-z0-9+.-]*:/i.test(url)) {
        return bad(`request '${id}' needs a 'url' relative to the version root.`);
      }
      const headers: Record<string, string> = {};
      if (item.headers !== undefined) {
        if (!isPlainObject(item.headers) || Object.values(item.headers).some((v) => typeof v !== 'string')) {
          return bad(`the headers of request '${id}' must map names to strings.`);
        }
        for (const [k, v] of Object.entries(item.headers)) headers[k.toLowerCase()] = v as string;
      }
      if (item.body !== undefined && headers['content-type'] === undefined) {
        return bad(`request '${id}' has a body but no Content-Type header.`);
      }
      let dependsOn: string[] = [];
      if (item.dependsOn !== undefined) {
        if (!Array.isArray(item.dependsOn) || item.dependsOn.some((d) => typeof d !== 'string')) {
          return bad(`the dependsOn of request '${id}' must be an array of ids.`);
        }
        dependsOn = item.dependsOn as string[];
      }
      specs.push({ id, method: method.toUpperCase(), url, headers, body: item.body, dependsOn });
    }
    const byId = new Map(specs.map((s) => [s.id.toLowerCase(), s]));
    for (const spec of specs) {
      for (const dep of spec.dependsOn) {
        if (!byId.has(dep.toLowerCase())) {
          return graphError(req, 400, 'BadRequest', `Invalid batch payload: request '${spec.id}' depends on unknown request '${dep}'.`);
        }
      }
    }
    if (hasCycle(specs, byId)) return graphError(req, 400, 'BadRequest', 'Invalid batch payload: dependsOn forms a cycle.');

    const batchMarker = req.requestId;
    const running = new Map<string, Promise<EmuResponse>>();
    const run = (spec: SubSpec): Promise<EmuResponse> => {
      const key = spec.id.toLowerCase();
      let promise = running.get(key);
      if (!promise) {
        promise = (async () => {
          const prerequisites = await Promise.all(spec.dependsOn.map((d) => run(byId.get(d.toLowerCase())!)));
          // A failed dependency fails its dependents with 424 (docs/upstream.md §2.6).
          if (prerequisites.some((d) => d.status < 200 || d.status >= 300)) {
            return graphError(req, 424, 'FailedDependency', 'The request was not executed because a request it depends on failed.');
          }
          return runOne(spec);
        })();
        running.set(key, promise);
      }
      return promise;
    };
    const runOne = (spec: SubSpec): Promise<EmuResponse> => {
      const relative = spec.url.startsWith('/') ? spec.url : `/${spec.url}`;
      const url = new URL(`/beta${relative}`, 'http://batch.invalid');
      let bodyText: string | undefined;
      if (spec.body !== undefined) {
        const ct = spec.headers['content-type']!.split(';')[0]!.trim().toLowerCase();
        // JSON bodies are inline; other media types travel base64-encoded (docs/upstream.md §2.6).
        bodyText = ct === 'application/json' || typeof spec.body !== 'string'
          ? JSON.stringify(spec.body)
          : Buffer.from(spec.body, 'base64').toString('utf8');
      }
      const sub: EmuRequest = {
        method: spec.method,
        pathname: url.pathname,
        query: url.searchParams,
        rawPath: `${url.pathname}${url.search}`,
        headers: { ...spec.headers, authorization: `Bearer ${token}` },
        bodyText,
        requestId: randomUUID(),
        inBatch: true,
      };
      return deps.runSubRequest(sub, `${batchMarker}#${spec.id}`);
    };

    const results = await Promise.all(specs.map(async (spec) => ({ spec, res: await run(spec) })));
    if (results.some((r) => r.res.destroySocket)) return { status: 0, headers: {}, destroySocket: true };

    const responses = results.map(({ spec, res }) => subResponseJson(spec.id, res));
    // Answers come back in any order (docs/upstream.md §2.6): shuffle so callers must correlate by id.
    for (let i = responses.length - 1; i > 0; i--) {
      const j = Math.floor(deps.random() * (i + 1));
      [responses[i], responses[j]] = [responses[j]!, responses[i]!];
    }
    return { status: 200, headers: {}, body: { responses } };
  }

  return handler;
}

function hasCycle<T extends { id: string; dependsOn: string[] }>(specs: T[], byId: Map<string, T>): boolean {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (spec: T): boolean => {
    const key = spec.id.toLowerCase();
    if (state.get(key) === 'done') return false;
    if (state.get(key) === 'visiting') return true;
    state.set(key, 'visiting');
    for (const dep of spec.dependsOn) if (visit(byId.get(dep.toLowerCase())!)) return true;
    state.set(key, 'done');
    return false;
  };
  return specs.some(visit);
}

/** Canonical header capitalisation, as Graph writes sub-response headers (`Retry-After`). */
function titleCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

function subResponseJson(id: string, res: EmuResponse): Record<string, unknown> {
  const headers: Record<string, string> = { 'Cache-Control': 'no-cache' };
  for (const [k, v] of Object.entries(res.headers)) headers[titleCase(k)] = v;
  const out: Record<string, unknown> = { id, status: res.status, headers };
  if (res.body !== undefined) {
    headers['Content-Type'] ??= ODATA_JSON;
    out.body = res.body;
  } else if (res.rawBody !== undefined) {
    out.body = Buffer.from(res.rawBody).toString('base64');
  }
  return out;
}

function unknownSegment(req: EmuRequest, segment: string): EmuResponse {
  return graphError(req, 404, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(req: EmuRequest): EmuResponse {
  return graphError(req, 405, 'Request_BadRequest', `The HTTP method '${req.method}' is not allowed for the requested resource.`);
}

function profileJson(p: StoredExternalUserProfile, select: string[] | undefined): Record<string, unknown> {
  const full: Record<string, unknown> = {
    id: p.id,
    address: p.address ? Object.fromEntries(ADDRESS_PROPERTIES.map((k) => [k, p.address![k] ?? null])) : null,
    companyName: p.companyName,
    createdBy: p.createdBy,
    createdDateTime: p.createdDateTime,
    deletedDateTime: p.deletedDateTime,
    department: p.department,
    displayName: p.displayName,
    isDiscoverable: p.isDiscoverable,
    isEnabled: p.isEnabled,
    jobTitle: p.jobTitle,
    phoneNumber: p.phoneNumber,
    supervisorId: p.supervisorId,
  };
  if (!select) return full;
  return Object.fromEntries(select.map((k) => [k, full[k]]));
}

interface QueryOptions {
  select?: string[];
  rawSelect?: string;
  top?: number;
  skiptoken?: string;
  filter?: (p: StoredExternalUserProfile) => boolean;
  rawFilter?: string;
}

/** Reads the OData system query options a route supports; any other `$` option is refused. */
function readQueryOptions(req: EmuRequest, allowed: string[]): QueryOptions | EmuResponse {
  const options: QueryOptions = {};
  for (const [rawKey, value] of req.query) {
    const key = rawKey.toLowerCase();
    if (!key.startsWith('$')) continue;
    if (!allowed.includes(key)) {
      return graphError(req, 400, 'Request_UnsupportedQuery', `The query option '${rawKey}' is not supported on this resource.`);
    }
    if (key === '$select') {
      const names: string[] = [];
      for (const raw of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        const name = PROFILE_PROPERTIES.find((p) => p.toLowerCase() === raw.toLowerCase());
        if (!name) {
          return graphError(req, 400, 'BadRequest',
            `Parsing OData Select and Expand failed: Could not find a property named '${raw}' on type 'microsoft.graph.externalUserProfile'.`);
        }
        if (!names.includes(name)) names.push(name);
      }
      if (names.length === 0) return graphError(req, 400, 'BadRequest', 'The $select query option is empty.');
      options.select = names;
      options.rawSelect = value;
    } else if (key === '$top') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE_SIZE) {
        return graphError(req, 400, 'Request_BadRequest', `Invalid page size specified: '${value}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`);
      }
      options.top = Number(value);
    } else if (key === '$skiptoken') {
      options.skiptoken = value;
    } else if (key === '$filter') {
      const filter = parseFilter(value);
      if (!filter) return graphError(req, 400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause: '${value}'.`);
      options.filter = filter;
      options.rawFilter = value;
    }
  }
  return options;
}

/** The documented filters (docs/upstream.md §2.2): `eq` and `startswith` on companyName and supervisorId. */
function parseFilter(expr: string): ((p: StoredExternalUserProfile) => boolean) | undefined {
  const literal = "'((?:[^']|'')*)'";
  const eq = new RegExp(`^\\s*(companyName|supervisorId)\\s+eq\\s+${literal}\\s*$`, 'i').exec(expr);
  const sw = new RegExp(`^\\s*startswith\\(\\s*(companyName|supervisorId)\\s*,\\s*${literal}\\s*\\)\\s*$`, 'i').exec(expr);
  const match = eq ?? sw;
  if (!match) return undefined;
  const field = match[1]!.toLowerCase() === 'companyname' ? 'companyName' : 'supervisorId';
  const value = match[2]!.replace(/''/g, "'").toLowerCase();
  return eq
    ? (p) => (p[field] ?? '').toLowerCase() === value
    : (p) => (p[field] ?? '').toLowerCase().startsWith(value);
}
