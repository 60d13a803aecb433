/**
 * Microsoft Graph (beta) client for `externalUserProfile` (docs/upstream.md §2): get, list, patch, and a
 * dataloader-friendly batch read over `POST /beta/$batch` (§2.6), bound to one caller.
 *
 * Availability: externalUserProfile exists only in the global cloud (§2.4), so every method throws
 * `NotAvailableInCloudError` before any call elsewhere.
 *
 * Path safety: Graph ids are opaque, so they are validated by shape (`assertProfileId`) and always go
 * through `encodeURIComponent`; `@odata.nextLink` is followed only on the configured Graph origin and
 * under `/beta/directory/externalUserProfiles`, so neither a client nor an upstream can send the
 * caller's token elsewhere.
 */
import { BadUserInputError, InvalidCursorError, NotAvailableInCloudError, UpstreamError } from '../errors.js';
import { createCursorCodec, type CursorCodec } from './cursor.js';
import { upstreamRoot } from './root-url.js';
import type { Page } from './cursor.js';
import { parseGraphErrorBody, unexpectedAnswer } from './error-dialect.js';
import { batchGet } from './graph-batch.js';
import type { UpstreamDescriptor } from './descriptor.js';
import type { UpstreamCaller, UpstreamRequest, UpstreamResponse, UpstreamTransport } from './transport.js';
import type { UpstreamReads } from './read-through.js';

export type { Page } from './cursor.js';

/**
 * Microsoft Graph, as the gateway knows it: a root and token resource per national cloud, scope
 * `.default`; externalUserProfile, the one Graph feature the gateway uses, exists only in the global
 * service (docs/upstream.md §2.4), so elsewhere it is neither called nor probed. How the transport talks to
 * it (§2.5, §3.1): every try carries the caller's `client-request-id`, retries carry `Retry-Attempt: n`
 * as the Graph SDK sends; answers name their request id in `request-id`, error bodies are OData errors.
 */
export const GRAPH: UpstreamDescriptor<'graph', 'graph', GraphClient> = {
  service: 'graph',
  name: 'Microsoft Graph',
  urlVariable: 'GRAPH_URL',
  clouds: {
    global: { url: 'https://graph.microsoft.com', tokenResource: 'https://graph.microsoft.com', available: true },
    usgov: { url: 'https://graph.microsoft.us', tokenResource: 'https://graph.microsoft.us', available: false },
    'usgov-dod': { url: 'https://dod-graph.microsoft.us', tokenResource: 'https://dod-graph.microsoft.us', available: false },
    china: { url: 'https://microsoftgraph.chinacloudapi.cn', tokenResource: 'https://microsoftgraph.chinacloudapi.cn', available: false },
  },
  tokenScope: (resource) => `${resource}/.default`,
  delegatedOnly: false,
  readinessPath: '/',
  contextKey: 'graph',
  createClient: ({ transport, reads, baseUrl, available, cloud, caller, cursorKey }) =>
    createGraphClient({ transport, reads, baseUrl, externalUserProfilesAvailable: available, cloudName: cloud, caller, cursorKey }),
  requestIdHeader: 'request-id',
  parseErrorBody: parseGraphErrorBody,
  // docs/upstream.md §2.5 (Graph's codes vary in case: keys are lower-case).
  errorMessages: {
    authorization_requestdenied: 'Microsoft Graph denied the operation: insufficient privileges',
    accessdenied: 'Microsoft Graph denied the operation: insufficient privileges',
    request_resourcenotfound: 'Microsoft Graph could not find the resource',
    resourcenotfound: 'Microsoft Graph could not find the resource',
    itemnotfound: 'Microsoft Graph could not find the resource',
    request_badrequest: 'Microsoft Graph refused the request as invalid',
    badrequest: 'Microsoft Graph refused the request as invalid',
    invalidrequest: 'Microsoft Graph refused the request as invalid',
    toomanyrequests: 'Microsoft Graph is throttling requests; retry later',
    activitylimitreached: 'Microsoft Graph is throttling requests; retry later',
    servicenotavailable: 'Microsoft Graph is unavailable',
    unauthenticated: "Microsoft Graph refused the gateway's credentials",
    invalidauthenticationtoken: "Microsoft Graph refused the gateway's credentials",
  },
  ownHeaders: ['client-request-id', 'retry-attempt'],
  // Sent from 80 % of the throttle limit on, already a ratio (0.8-1.8): the gauge shows it as sent.
  throttleLimitHeader: 'x-ms-throttle-limit-percentage',
  callHeaders:
    ({ correlationId }) =>
    (attempt): Record<string, string> =>
      attempt > 0 ? { 'client-request-id': correlationId, 'retry-attempt': String(attempt) } : { 'client-request-id': correlationId },
};

/** `physicalOfficeAddress` (docs/upstream.md §2.1). */
export interface PhysicalOfficeAddressResource {
  readonly city?: string | null;
  readonly countryOrRegion?: string | null;
  readonly officeLocation?: string | null;
  readonly postalCode?: string | null;
  readonly state?: string | null;
  readonly street?: string | null;
}

/** `microsoft.graph.externalUserProfile` (docs/upstream.md §2.1); an open type, so extra properties may appear. */
export interface ExternalUserProfileResource {
  readonly id: string;
  readonly address?: PhysicalOfficeAddressResource | null;
  readonly companyName?: string | null;
  readonly createdBy?: string | null;
  readonly createdDateTime?: string | null;
  readonly deletedDateTime?: string | null;
  readonly department?: string | null;
  readonly displayName?: string | null;
  readonly isDiscoverable?: boolean | null;
  readonly isEnabled?: boolean | null;
  readonly jobTitle?: string | null;
  readonly phoneNumber?: string | null;
  readonly supervisorId?: string | null;
  readonly [extra: string]: unknown;
}

/** A PATCH body: exactly the updatable keys to change (docs/upstream.md §2.2), `null` clears. */
export type ExternalUserProfilePatch = Readonly<Record<string, unknown>>;

/**
 * The properties to ask Graph for (`$select`); `id` is always added. `undefined`: every property (no
 * `$select`). Names as Graph spells them (`displayName`, `address`): checked by shape only, Graph refuses
 * an unknown one (400).
 */
export type PropertySelection = readonly string[] | undefined;

/** Options of `listExternalUserProfiles`. */
export interface ListExternalUserProfilesOptions {
  /** `$top`, 1–999 (ignored with a cursor: the nextLink carries its own paging). */
  readonly top: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** `$select` of the first page (ignored with a cursor: Graph's nextLink carries the first page's). */
  readonly select?: PropertySelection;
}

/** One profile read of a batch. */
export interface ExternalUserProfileRead {
  readonly id: string;
  readonly select?: PropertySelection;
}

/** The Graph operations of one caller. */
export interface GraphClient {
  /** Throws `NotAvailableInCloudError` outside the global cloud. */
  assertAvailable(): void;
  /**
   * `GET /beta/directory/externalUserProfiles/{id}[?$select=…]`. `fresh`: the answer must reflect every
   * write that ended before the call (the re-read after a PATCH): never from the response cache, never
   * joining a read in flight.
   */
  getExternalUserProfile(id: string, select?: PropertySelection, options?: { readonly fresh?: boolean }): Promise<ExternalUserProfileResource>;
  /** One page of `GET /beta/directory/externalUserProfiles`. */
  listExternalUserProfiles(options: ListExternalUserProfilesOptions): Promise<Page<ExternalUserProfileResource>>;
  /** `PATCH /beta/directory/externalUserProfiles/{id}`; Graph answers 204 without a body. */
  patchExternalUserProfile(id: string, patch: ExternalUserProfilePatch): Promise<void>;
  /**
   * Reads many profiles: results aligned with `reads` (a resource, or the error for that read alone), as a
   * DataLoader batch function wants. Reads of one id share one sub-request asking for the union of their
   * properties. See the comment on the implementation for batching and retries.
   */
  batchGetExternalUserProfiles(reads: readonly ExternalUserProfileRead[]): Promise<Array<ExternalUserProfileResource | UpstreamError | BadUserInputError>>;
}

/**
 * What each Graph read depends on and each write changes, within the caller's partner tenant
 * (read-through.ts). Profile ids are lower-cased: a GUID in another case is the same profile.
 */
export const graphScopes = {
  externalUserProfile: (id: string): string => `graph/external-user-profile/${id.toLowerCase()}`,
  externalUserProfiles: 'graph/external-user-profiles',
} as const;

/** Options of `createGraphClient`. */
export interface GraphClientOptions {
  readonly transport: UpstreamTransport;
  /** The read-through layer (coalescing, response cache) GETs and writes go through. @default straight to the transport */
  readonly reads?: UpstreamReads;
  /** Graph root without `/beta` (`config.upstreams.graph.url`). */
  readonly baseUrl: string;
  /** Whether the cloud has externalUserProfile (`config.upstreams.graph.available`). */
  readonly externalUserProfilesAvailable: boolean;
  /** The configured cloud's name, for the error (`config.cloud`). */
  readonly cloudName: string;
  readonly caller: UpstreamCaller;
  /** Key protecting paging cursors (see cursor.ts). @default a random key per process */
  readonly cursorKey?: string | Uint8Array;
}

/** Graph's `$batch` limit (docs/upstream.md §2.6). */
export const MAX_BATCH_SIZE = 20;

/**
 * Graph's largest `$top` for directory objects. Callers ask for less: the GraphQL page-size limit
 * (features/shared/pagination.ts) is far below it.
 */
export const GRAPH_MAX_TOP = 999;

const PROFILES_PATH = '/directory/externalUserProfiles';

/** A Graph property name (OData identifier shape). */
const PROPERTY_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * The `$select` query of a selection, `id` first and always (everything is keyed by it, and an OData
 * service answers only the properties `$select` names); '' for every property. `$select` and its commas literally: some servers do not decode
 * `%24select`, and Graph's own nextLinks write them so. A name that is not an identifier is a programming
 * error, never client input (the features map GraphQL fields to fixed names).
 */
export function selectQuery(select: PropertySelection): string {
  if (select === undefined) return '';
  const names = ['id', ...new Set(select.filter((p) => p !== 'id'))];
  const bad = names.find((p) => !PROPERTY_NAME.test(p));
  if (bad !== undefined) throw new Error(`not a Graph property name: ${JSON.stringify(bad.slice(0, 40))}`);
  return `$select=${names.join(',')}`;
}

/** The union of selections (`undefined`, every property, absorbs the others). */
function unionOf(selections: readonly PropertySelection[]): PropertySelection {
  if (selections.some((s) => s === undefined)) return undefined;
  return [...new Set(selections.flatMap((s) => s!))];
}

/**
 * Acceptable profile ids: 1–128 characters, none of `/ ? # % \`, no `..`, not only dots, no whitespace
 * or control characters, and well-formed UTF-16 (a lone surrogate cannot be percent-encoded:
 * `encodeURIComponent` throws on it). Graph ids are opaque (usually GUIDs, docs/upstream.md §2.1), so this is
 * a shape check that keeps every id a single, literal path segment.
 */
export function isValidProfileId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.isWellFormed() &&
    id.length >= 1 &&
    id.length <= 128 &&
    !/[/?#%\\\s\u0000-\u001f\u007f-\u009f]/.test(id) &&
    !id.includes('..') &&
    !/^\.+$/.test(id)
  );
}

/** Throws `BadUserInputError(field)` unless `isValidProfileId(id)`. */
export function assertProfileId(field: string, id: unknown): asserts id is string {
  if (!isValidProfileId(id)) throw new BadUserInputError(field, 'is not a valid profile id');
}

/**
 * What a page read with `asked` lacks of `wanted`: `null` when nothing, `undefined` when every property
 * (the page had a `$select`, the reader wants it all), else the missing names.
 */
function lacking(asked: PropertySelection, wanted: PropertySelection): readonly string[] | null | undefined {
  if (asked === undefined) return null;
  if (wanted === undefined) return undefined;
  const missing = wanted.filter((p) => p !== 'id' && !asked.includes(p));
  return missing.length === 0 ? null : missing;
}

/** Creates the client bound to one caller. Cheap: create one per request. */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const { transport, caller } = options;
  const root = upstreamRoot(options.baseUrl);
  const rootPath = root.path;
  const beta = `${root.origin}${rootPath}/beta`;
  // Made on first use: most requests page through nothing.
  let codec: CursorCodec | undefined;
  const cursors = (): CursorCodec => (codec ??= createCursorCodec('graph/externalUserProfiles', options.cursorKey));

  const reads = options.reads;
  /** A GET depending on `scopes`. */
  const read = <T>(url: string, scopes: readonly string[], fresh = false): Promise<UpstreamResponse<T>> => {
    const full: UpstreamRequest = { method: 'GET', url, upstream: GRAPH, caller };
    return reads ? reads.read<T>(full, { scopes, fresh }) : transport.request<T>(full);
  };

  function assertAvailable(): void {
    if (!options.externalUserProfilesAvailable) throw new NotAvailableInCloudError('externalUserProfiles', options.cloudName);
  }

  const profileUrl = (id: string): string => `${beta}${PROFILES_PATH}/${encodeURIComponent(id)}`;
  const withQuery = (url: string, query: string): string => (query === '' ? url : `${url}?${query}`);

  function asProfile(body: unknown, answer: { status: number; requestId?: string }): ExternalUserProfileResource {
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { id?: unknown }).id !== 'string') {
      throw unexpectedAnswer(GRAPH, answer, caller.correlationId, 'a body that is not an external user profile');
    }
    return body as ExternalUserProfileResource;
  }

  /**
   * The `@odata.nextLink` when it stays on the configured Graph origin (scheme, host, port) and names
   * the profile collection, else undefined. Compared on the parsed URL, after dot-segment and `%2e`
   * normalisation; the query (`$skiptoken`…) is kept verbatim (docs/upstream.md §2.2: follow it as is).
   */
  function checkedNextLink(link: unknown): string | undefined {
    if (typeof link !== 'string' || link.length > 8192) return undefined;
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      return undefined;
    }
    const expected = `${rootPath}/beta${PROFILES_PATH}`.toLowerCase();
    if (url.origin !== root.origin || url.username || url.password || url.hash || url.pathname.toLowerCase() !== expected) return undefined;
    return url.href;
  }

  async function getOne(id: string, select: PropertySelection, fresh = false): Promise<ExternalUserProfileResource> {
    const res = await read<unknown>(withQuery(profileUrl(id), selectQuery(select)), [graphScopes.externalUserProfile(id)], fresh);
    return asProfile(res.body, res);
  }

  const client: GraphClient = {
    assertAvailable,

    async getExternalUserProfile(id, select, options) {
      assertAvailable();
      assertProfileId('id', id);
      return getOne(id, select, options?.fresh);
    },

    async listExternalUserProfiles({ top, cursor, select }) {
      assertAvailable();
      let url: string;
      // What this page is read with: the first page's `$select`, which Graph's nextLink carries on.
      let asked: PropertySelection = select;
      if (cursor !== undefined) {
        // The cursor holds the nextLink's query: its origin and path were checked to be this collection's
        // when it was made, and are rebuilt here (and checked again); then, when the first page had a
        // `$select`, its names, comma separated.
        const [query, selected, extra] = cursors().decode(cursor);
        const checked = query !== undefined && extra === undefined && /^(\?[^#\s]*)?$/.test(query) ? checkedNextLink(`${beta}${PROFILES_PATH}${query}`) : undefined;
        if (!checked) throw new InvalidCursorError();
        url = checked;
        asked = selected === undefined ? undefined : selected.split(',');
      } else {
        // The REST client's own guard, in its own terms (the GraphQL `first` is checked in the features).
        if (!Number.isInteger(top) || top < 1 || top > GRAPH_MAX_TOP) throw new BadUserInputError('$top', `must be from 1 to ${GRAPH_MAX_TOP}`);
        // `$top` literally: some servers do not decode `%24top`. Graph's nextLink repeats the `$select`.
        const query = selectQuery(select);
        url = `${beta}${PROFILES_PATH}?$top=${top}${query === '' ? '' : `&${query}`}`;
      }
      // A later page is cached by its nextLink (its URL) too.
      const res = await read<unknown>(url, [graphScopes.externalUserProfiles]);
      const body = res.body as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
      if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
        throw unexpectedAnswer(GRAPH, res, caller.correlationId, 'a collection without value');
      }
      let items = body.value as ExternalUserProfileResource[];
      // A next page asked for more than the first page selected (the caller's selection changed between
      // pages): the nextLink is followed as it is, and what it lacks is read by id, so no field of the
      // page comes back empty for want of a property. Profiles gone meanwhile drop out of the page.
      const missing = lacking(asked, select);
      if (missing !== null && items.length > 0) items = await fillIn(items, missing);
      const link = body['@odata.nextLink'];
      if (link === undefined || link === null) return { items };
      const next = checkedNextLink(link);
      if (!next) throw unexpectedAnswer(GRAPH, res, caller.correlationId, 'a next-page link outside the configured Graph collection');
      const query = new URL(next).search;
      return { items, nextCursor: cursors().encode(asked === undefined ? [query] : [query, asked.join(',')]) };
    },

    async patchExternalUserProfile(id, patch) {
      assertAvailable();
      assertProfileId('id', id);
      const body: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch)) if (value !== undefined) body[key] = value;
      // 204 No Content (docs/upstream.md §2.2); a 200 with the object is tolerated and ignored. Changes the
      // profile and the pages it is listed on.
      const full: UpstreamRequest = { method: 'PATCH', url: profileUrl(id), json: body, upstream: GRAPH, caller };
      const scopes = [graphScopes.externalUserProfile(id), graphScopes.externalUserProfiles];
      await (reads ? reads.write<unknown>(full, scopes) : transport.request<unknown>(full));
    },

    async batchGetExternalUserProfiles(reads) {
      assertAvailable();
      // One sub-request per id, asking for the union of what its reads select.
      const selections = new Map<string, PropertySelection[]>();
      for (const { id, select } of reads) {
        if (!isValidProfileId(id)) continue;
        const list = selections.get(id);
        if (list) list.push(select);
        else selections.set(id, [select]);
      }
      const selectOf = new Map([...selections].map(([id, list]) => [id, unionOf(list)] as const));
      const valid = [...selectOf.keys()];
      const found = new Map<string, ExternalUserProfileResource | UpstreamError>();
      if (valid.length === 1) {
        // One id: a plain GET. Same cost as a one-request batch, but it gets the transport's full retry
        // handling (Retry-After, deadline) and a real HTTP status instead of a sub-answer.
        const [id] = valid as [string];
        try {
          found.set(id, await getOne(id, selectOf.get(id)));
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          found.set(id, error);
        }
      } else if (valid.length > 1) {
        const batch = { transport, upstream: GRAPH, caller, batchUrl: `${beta}/$batch`, maxSize: MAX_BATCH_SIZE, read: asProfile };
        const urlOf = (id: string): string => withQuery(`${PROFILES_PATH}/${encodeURIComponent(id)}`, selectQuery(selectOf.get(id)));
        for (const [id, r] of await batchGet(valid, urlOf, batch)) found.set(id, r);
      }
      return reads.map(({ id }) => (isValidProfileId(id) ? found.get(id)! : new BadUserInputError('id', 'is not a valid profile id')));
    },
  };

  /** Reads `missing` (`undefined`: every property) of each item by id and merges it in; a 404 drops the item. */
  async function fillIn(items: readonly ExternalUserProfileResource[], missing: PropertySelection): Promise<ExternalUserProfileResource[]> {
    const extra = await client.batchGetExternalUserProfiles(items.map((item) => ({ id: item.id, select: missing })));
    const out: ExternalUserProfileResource[] = [];
    items.forEach((item, i) => {
      const more = extra[i]!;
      if (more instanceof UpstreamError && more.status === 404) return;
      if (more instanceof Error) throw more;
      out.push({ ...item, ...more });
    });
    return out;
  }

  return client;
}
