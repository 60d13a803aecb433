/**
 * Opaque paging cursors (DESIGN.md, Rules of the API): a cursor wraps the upstream's continuation
 * (Partner Center's `links.next` + `MS-ContinuationToken`, Graph's `@odata.nextLink`) as base64url JSON,
 * followed by an HMAC-SHA256 tag, so a client can neither read meaning into it nor point the gateway at
 * another URL or header. The clients still re-validate the decoded target (defence in depth).
 *
 * Key: pass `cursorKey` (e.g. derived from a configured secret) so cursors survive a restart and work
 * on every replica. Without it, a random key per process is used: cursors then break on restart or when
 * a load balancer sends the next page to another replica (`InvalidCursorError`, which the client sees as
 * BAD_USER_INPUT on `after`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidCursorError } from '../errors.js';

/** Random per process; see the module comment for its limits. */
const PROCESS_CURSOR_KEY = randomBytes(32);

/** Cursors longer than this are refused before any crypto (continuation tokens are far shorter). */
const MAX_CURSOR_LENGTH = 16 * 1024;

/** Encodes and verifies cursors of one kind. */
export interface CursorCodec<T> {
  encode(payload: T): string;
  /** Verifies and decodes; throws `InvalidCursorError` on any problem. */
  decode(cursor: string): T;
}

/**
 * A codec for cursors of one `kind` (the kind is inside the signed payload, so a Graph cursor is refused
 * by the Partner Center client and vice versa). `validate` checks the decoded payload's shape.
 */
export function createCursorCodec<T>(
  kind: string,
  validate: (value: unknown) => value is T,
  key: string | Uint8Array | undefined,
): CursorCodec<T> {
  const secret = key === undefined ? PROCESS_CURSOR_KEY : typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (secret.length === 0) throw new TypeError('cursorKey must not be empty');
  const tag = (data: string): Buffer => createHmac('sha256', secret).update(`${kind}\n${data}`).digest();

  return {
    encode(payload) {
      const data = Buffer.from(JSON.stringify({ k: kind, p: payload }), 'utf8').toString('base64url');
      return `${data}.${tag(data).toString('base64url')}`;
    },
    decode(cursor) {
      const invalid = () => new InvalidCursorError();
      if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) throw invalid();
      const [data, mac, extra] = cursor.split('.');
      if (!data || !mac || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(data) || !/^[A-Za-z0-9_-]+$/.test(mac)) throw invalid();
      const given = Buffer.from(mac, 'base64url');
      const expected = tag(data);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(data, 'base64url').toString('utf8'));
      } catch {
        throw invalid();
      }
      if (typeof parsed !== 'object' || parsed === null) throw invalid();
      const { k, p } = parsed as { k?: unknown; p?: unknown };
      if (k !== kind || !validate(p)) throw invalid();
      return p;
    },
  };
}

/** One page of a list: the items and, when there is more, the opaque cursor of the next page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}
