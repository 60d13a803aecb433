/**
 * The emulator's transport-neutral request/response model. Each service module is a function from
 * an `EmuRequest` to an `EmuResponse`, so the HTTP server and Graph's `$batch` (which runs each
 * sub-request "as if sent alone") share exactly the same routes, auth and fault handling.
 */

/** One request as a service handler sees it. */
export interface EmuRequest {
  /** Upper-case method. */
  method: string;
  /** Decoded-as-received pathname, e.g. `/v1/customers/abc/users`. */
  pathname: string;
  /** Query parameters. */
  query: URLSearchParams;
  /** Pathname + search, as received. */
  rawPath: string;
  /** Lower-cased header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The raw body text, `undefined` when the request had none. */
  bodyText: string | undefined;
  /** A GUID generated for this request (Graph's `request-id`, Partner Center's default `MS-RequestId`). */
  requestId: string;
  /** True when this is a Graph `$batch` sub-request. */
  inBatch: boolean;
}

/** One answer of a service handler. */
export interface EmuResponse {
  status: number;
  headers: Record<string, string>;
  /** Serialized as JSON unless `undefined` (no body) or `rawBody` is set. */
  body?: unknown;
  /** A raw text body, sent as is. */
  rawBody?: string;
  /** Destroy the connection instead of answering (an injected `reset` fault). */
  destroySocket?: boolean;
}

/** A handler for one emulated service. */
export type ServiceHandler = (req: EmuRequest) => Promise<EmuResponse>;

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical 8-4-4-4-12 GUID (any case, no braces). */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID_RE.test(value);
}

/** The outcome of parsing a JSON body. */
export type JsonBody = { kind: 'none' } | { kind: 'invalid' } | { kind: 'json'; value: unknown };

/** Parses a body as JSON without throwing. */
export function parseJsonBody(text: string | undefined): JsonBody {
  if (text === undefined || text.trim() === '') return { kind: 'none' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The media type of a `Content-Type` header, lower-cased, without parameters. */
export function mediaType(headers: Record<string, string>): string | undefined {
  const ct = headers['content-type'];
  if (ct === undefined) return undefined;
  return ct.split(';')[0]!.trim().toLowerCase();
}

/** Splits a pathname into its non-empty, percent-decoded segments (`undefined` if not decodable). */
export function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** Resolves after `ms` milliseconds (immediately for 0). */
export function sleep(ms: number): Promise<void> {
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms));
}
