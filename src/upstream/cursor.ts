/**
 * Opaque paging cursors (README, Example operations: paging): a cursor carries what the gateway needs to ask the
 * upstream for the next page (Partner Center's `links.next` query + `MS-ContinuationToken`, the query of
 * Graph's `@odata.nextLink`), encrypted and authenticated with AES-256-GCM, so a client can neither read
 * it nor change it, nor point the gateway at another URL or header.
 *
 * Short, because phones send them back: a cursor holds only what the server cannot rebuild. The client
 * rebuilds the origin and route itself (the list's path, the customer from the query's arguments), so a
 * cursor carries a few strings, packed (see `packFields`: a continuation token in base64url is carried as
 * its bytes), and the fixed overhead: 1 version byte, a 12-byte random nonce and a 16-byte tag, 29 bytes,
 * about 39 base64url characters.
 *
 * What a cursor is bound to without carrying it goes into the GCM additional data: the format version,
 * the list's `kind` (a Graph cursor is refused by the Partner Center client and vice versa) and a
 * `binding` the caller passes (Partner Center: the customer), so a cursor of one customer's users is
 * refused for another's. The clients still check the rebuilt target (defence in depth).
 *
 * Key: `cursorKey` (`deriveCursorKey(CURSOR_SECRET)`, HKDF-SHA256) makes cursors survive a restart and
 * work on every replica with the same secret. Without it, a random key per process is used: cursors then
 * break on restart or when a load balancer sends the next page to another replica. Any cursor that does
 * not decrypt under the key (tampered, another key, another list, the signed-JSON cursors of earlier
 * versions, which are not even base64url) is `InvalidCursorError`, which the client sees as
 * BAD_USER_INPUT on `after`.
 *
 * Nonces are random (96 bits): NIST SP 800-38D allows 2^32 encryptions per key that way, far more cursors
 * than one `CURSOR_SECRET` issues in a long while; rotating the secret starts afresh (cursors in flight
 * then fail as invalid, and clients start the list again).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { InvalidCursorError } from '../errors.js';

/** The first byte of every cursor: the format, also part of the authenticated data. */
const VERSION = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Cursors longer than this are refused before any crypto (continuation tokens are far shorter). */
const MAX_CURSOR_LENGTH = 16 * 1024;

/** At most this many strings in one cursor (Partner Center: the query and a few header pairs). */
const MAX_FIELDS = 32;

/** The AES-256 key of the cursors from a configured secret (`CURSOR_SECRET`): HKDF-SHA256, so replicas derive the same one. */
export function deriveCursorKey(secret: string | Uint8Array): Buffer {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (ikm.length === 0) throw new TypeError('cursor secret must not be empty');
  return Buffer.from(hkdfSync('sha256', ikm, 'partner-bff-gateway', 'paging cursor v1 aes-256-gcm', KEY_BYTES));
}

/** Random per process; see the module comment for its limits. */
const PROCESS_CURSOR_KEY = randomBytes(KEY_BYTES);

/** Encodes and verifies the cursors of one kind of list. A cursor's content is a list of strings. */
export interface CursorCodec {
  /** An opaque cursor holding `fields`, bound to `binding` (e.g. the customer id; it is not carried). */
  encode(fields: readonly string[], binding?: string): string;
  /** Decrypts and verifies (with the same `binding`); throws `InvalidCursorError` on any problem. */
  decode(cursor: string, binding?: string): string[];
}

/**
 * A codec for cursors of one `kind`. `key`: 32 bytes (`deriveCursorKey`), or a secret string that is
 * derived here. @default a random key per process
 */
export function createCursorCodec(kind: string, key?: string | Uint8Array): CursorCodec {
  const secret = key === undefined ? PROCESS_CURSOR_KEY : typeof key === 'string' ? deriveCursorKey(key) : Buffer.from(key);
  if (secret.length !== KEY_BYTES) throw new TypeError(`cursorKey must be ${KEY_BYTES} bytes (deriveCursorKey)`);
  const additionalData = (binding: string) => Buffer.from(`partner-bff cursor\0${VERSION}\0${kind}\0${binding}`, 'utf8');

  return {
    encode(fields, binding = '') {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(binding));
      const sealed = Buffer.concat([cipher.update(packFields(fields)), cipher.final()]);
      return Buffer.concat([Buffer.of(VERSION), nonce, sealed, cipher.getAuthTag()]).toString('base64url');
    },
    decode(cursor, binding = '') {
      if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
      const bytes = Buffer.from(cursor, 'base64url');
      // Only the one spelling the gateway wrote: base64url decoding ignores a stray last character or bits.
      if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== VERSION || bytes.toString('base64url') !== cursor) throw new InvalidCursorError();
      const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', secret, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(binding));
      decipher.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new InvalidCursorError(); // the tag does not verify: tampered, another key, kind or binding
      }
      const fields = unpackFields(plain);
      if (!fields) throw new InvalidCursorError();
      return fields;
    },
  };
}

/*
 * The plaintext: each field as segments, then an end mark. A segment header is a LEB128 varint
 * `length << 2 | kind`: kind 0 is `length` bytes of UTF-8 text; kind 1 is `length` raw bytes whose
 * base64url (unpadded) is the text, for runs of 16 or more base64url characters that decode and encode
 * back to themselves (continuation tokens usually are such runs: a quarter shorter as bytes); kind 2,
 * length 0, ends the field.
 */
const TEXT = 0;
const BASE64URL = 1;
const END = 2;
/** Candidate runs for kind 1. */
const BASE64URL_RUN = /[A-Za-z0-9_-]{16,}/g;

function pushVarint(out: number[], value: number): void {
  do {
    out.push((value & 0x7f) | (value > 0x7f ? 0x80 : 0));
    value >>>= 7;
  } while (value > 0);
}

function packFields(fields: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const segment = (kind: number, bytes: Buffer) => {
    const header: number[] = [];
    pushVarint(header, (bytes.length << 2) | kind);
    parts.push(Buffer.from(header), bytes);
  };
  for (const field of fields) {
    let at = 0;
    for (const match of field.matchAll(BASE64URL_RUN)) {
      // A length of 4k+1 cannot be base64url: the last character stays text.
      const run = match[0].length % 4 === 1 ? match[0].slice(0, -1) : match[0];
      const bytes = Buffer.from(run, 'base64url');
      if (bytes.toString('base64url') !== run) continue; // not canonical (stray bits in the last character)
      if (match.index > at) segment(TEXT, Buffer.from(field.slice(at, match.index), 'utf8'));
      segment(BASE64URL, bytes);
      at = match.index + run.length;
    }
    if (at < field.length) segment(TEXT, Buffer.from(field.slice(at), 'utf8'));
    parts.push(Buffer.of(END));
  }
  return Buffer.concat(parts);
}

/** The inverse of `packFields`, or undefined when the bytes are not such a list. */
function unpackFields(bytes: Buffer): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let open = false; // a segment read since the last end mark
  let at = 0;
  while (at < bytes.length) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 21) return undefined;
      const byte = bytes[at++]!;
      header |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    const kind = header & 3;
    const length = header >>> 2;
    if (kind === END) {
      if (length !== 0 || fields.length === MAX_FIELDS) return undefined;
      fields.push(field);
      field = '';
      open = false;
      continue;
    }
    if ((kind !== TEXT && kind !== BASE64URL) || at + length > bytes.length) return undefined;
    field += bytes.toString(kind === TEXT ? 'utf8' : 'base64url', at, at + length);
    at += length;
    open = true;
  }
  // Every field ends with its mark: a field left open is not a cursor of this format.
  return open ? undefined : fields;
}

/** One page of a list: the items and, when there is more, the opaque cursor of the next page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}
