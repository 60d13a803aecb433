/**
 * One issuer's signing keys (a JWKS URL), fetched on demand and cached, with two rules of our own:
 *
 * - Key rotation: a token naming an unknown `kid` makes one refetch, at most one per cooldown counted
 *   from the last refetch an unknown `kid` caused (not from any fetch, as jose's remote set does). A key
 *   rotated in shortly after the first fetch is therefore picked up at once, while a stream of forged
 *   kids still costs at most one fetch per cooldown. Concurrent requests with the new kid share one fetch.
 * - Outages: when the cached set is older than `maxAgeMs` and the refetch fails, the last good set stays
 *   in use for `graceMs` more (logged once, and reported by {@link SigningKeySet.status} for `/readyz`);
 *   meanwhile the issuer is asked again at most once per cooldown, so an outage does not add a fetch
 *   (and its timeout) to every request. Past the grace period the old keys are no longer trusted:
 *   `SigningKeysUnavailableError`. Microsoft.IdentityModel's "last known good" configuration works the
 *   same way, with one hour as its default lifetime.
 * - Untrusted keys: a fetched set holding one of `untrustedKeys` (the embedded emulator's own, while an
 *   accepted issuer is not the emulator's) is refused as a whole, judged by the keys themselves (their
 *   public key material, not their `kid` or the URL they came from), so no host spelling of the
 *   emulator's address (`localhost`, `127.0.0.2`, `[::1]`, a name resolving to loopback) gets them trusted.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { SigningKeysUnavailableError } from '../errors.js';

/** Where the signing-key events go (a pino logger fits). */
export interface SigningKeysLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** Options of {@link createSigningKeySet}. */
export interface SigningKeySetOptions {
  /** The JWKS URL. */
  readonly url: string;
  /** Timeout of one fetch, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * Least time between two refetches caused by unknown kids, and between two refetch attempts while
   * stale keys are in use, in milliseconds. @default 30000
   */
  readonly cooldownMs?: number;
  /** How long a fetched set is used before it is fetched again, in milliseconds. @default 600000 */
  readonly maxAgeMs?: number;
  /** How long past `maxAgeMs` the last good set stays in use while refetches fail; `0`: none. @default 3600000 */
  readonly graceMs?: number;
  /** @default no logging */
  readonly logger?: SigningKeysLogger;
  /** The clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Public keys never to trust: a fetched set holding one of them is refused (see the module comment). @default none */
  readonly untrustedKeys?: readonly JWK[];
}

/**
 * - `not-fetched`: no token has needed the keys yet (they are fetched on demand);
 * - `ok`: the last fetch succeeded;
 * - `stale`: the last refetch failed; the last good set is used until `graceUntil`;
 * - `unavailable`: the last fetch failed and no usable set is left: tokens get `UPSTREAM_UNAVAILABLE`.
 */
export type SigningKeysState = 'not-fetched' | 'ok' | 'stale' | 'unavailable';

/** What `/readyz` shows of the signing keys. */
export interface SigningKeysStatus {
  readonly state: SigningKeysState;
  /** When the set in use was fetched (ISO time). */
  readonly fetchedAt?: string;
  /** Until when a stale set is still used (ISO time). */
  readonly graceUntil?: string;
  /** Why the last fetch failed (no URL, no secrets). */
  readonly error?: string;
}

/** A key lookup for `jwtVerify`, plus its state. */
export interface SigningKeySet {
  /** Throws jose's `JWKSNoMatchingKey` for an unknown kid, `SigningKeysUnavailableError` when no keys can be had. */
  readonly getKey: JWTVerifyGetKey;
  status(): SigningKeysStatus;
}

/** The order of badness, for reporting several sets as one. */
export const SIGNING_KEYS_SEVERITY: Readonly<Record<SigningKeysState, number>> = { 'not-fetched': 0, ok: 1, stale: 2, unavailable: 3 };

type LocalKeys = ReturnType<typeof createLocalJWKSet>;

/** Creates the key set; nothing is fetched until the first lookup. */
export function createSigningKeySet(options: SigningKeySetOptions): SigningKeySet {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const graceMs = options.graceMs ?? 3_600_000;
  const now = options.now ?? (() => Date.now());
  const log = options.logger;

  let keys: { lookup: LocalKeys; fetchedAt: number } | undefined;
  /** The last failed fetch, cleared by a successful one. */
  let failure: { at: number; message: string } | undefined;
  /** What was last logged, so an outage is logged once per change, not once per request. */
  let reported: SigningKeysState = 'not-fetched';
  let pending: Promise<void> | undefined;
  let generation = 0;
  let lastKidRefetch = Number.NEGATIVE_INFINITY;

  const graceUntil = (fetchedAt: number) => fetchedAt + maxAgeMs + graceMs;

  function report(state: SigningKeysState): void {
    if (state === reported) return;
    const previous = reported;
    reported = state;
    const details = { jwksUrl: options.url, error: failure?.message, graceUntil: keys ? new Date(graceUntil(keys.fetchedAt)).toISOString() : undefined };
    if (state === 'stale') log?.warn(details, 'signing keys could not be refreshed: using the last good set until graceUntil');
    else if (state === 'unavailable') log?.error(details, 'signing keys could not be fetched: tokens cannot be verified');
    else if (state === 'ok' && previous !== 'not-fetched') log?.info({ jwksUrl: options.url }, 'signing keys fetched again');
  }

  function refresh(): Promise<void> {
    pending ??= (async () => {
      try {
        const set = await fetchKeySet(options.url, timeoutMs);
        if (options.untrustedKeys?.length && holdsAnyKey(set, options.untrustedKeys)) throw new Error(UNTRUSTED_KEYS_MESSAGE);
        const lookup = createLocalJWKSet(set);
        keys = { lookup, fetchedAt: now() };
        failure = undefined;
        generation++;
        report('ok');
      } catch (error) {
        failure = { at: now(), message: describe(error) };
        throw error;
      }
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  /** The set to look keys up in: fresh, else refetched, else the last good one within its grace. */
  async function current(): Promise<LocalKeys> {
    const at = now();
    if (keys && at < keys.fetchedAt + maxAgeMs) return keys.lookup;
    const lastGood = keys && at < graceUntil(keys.fetchedAt) ? keys.lookup : undefined;
    if (lastGood && failure && at - failure.at < cooldownMs) return lastGood;
    try {
      await refresh();
      return keys!.lookup;
    } catch {
      if (lastGood) {
        report('stale');
        return lastGood;
      }
      report('unavailable');
      throw new SigningKeysUnavailableError('the signing keys of the token issuer could not be fetched');
    }
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const seen = generation;
    const lookup = await current();
    try {
      return await lookup(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // A fetch finished (or is running) since this lookup began: look again in the new set.
      if (generation !== seen || pending) {
        await pending?.catch(() => undefined);
        return keys!.lookup(header, token);
      }
      if (now() - lastKidRefetch < cooldownMs) throw error;
      lastKidRefetch = now();
      try {
        await refresh();
      } catch {
        // The token may be signed with a key rotated in while the issuer is down: not the caller's fault.
        throw new SigningKeysUnavailableError('the signing keys of the token issuer could not be fetched');
      }
      return keys!.lookup(header, token);
    }
  };

  return {
    getKey,
    status() {
      const error = failure?.message;
      if (!keys) return failure ? { state: 'unavailable', error } : { state: 'not-fetched' };
      const fetchedAt = new Date(keys.fetchedAt).toISOString();
      if (!failure) return { state: 'ok', fetchedAt };
      const until = graceUntil(keys.fetchedAt);
      if (now() < until) return { state: 'stale', fetchedAt, graceUntil: new Date(until).toISOString(), error };
      return { state: 'unavailable', fetchedAt, error };
    },
  };
}

/** Why an untrusted set was refused (logged, and shown in `/readyz`). */
const UNTRUSTED_KEYS_MESSAGE = "the JWKS holds the embedded emulator's signing keys while an accepted issuer is not the emulator's";

/** The public key material of a JWK (RSA `n`/`e`, EC or OKP `crv`/`x`/`y`), whatever its `kid`, `use` or `alg`. */
function keyMaterial(key: JWK): string | undefined {
  if (key.kty === 'RSA' && key.n && key.e) return `RSA:${key.n}:${key.e}`;
  if ((key.kty === 'EC' || key.kty === 'OKP') && key.crv && key.x) return `${key.kty}:${key.crv}:${key.x}:${key.y ?? ''}`;
  return undefined;
}

/** True when `set` holds one of `keys` (same public key material). */
export function holdsAnyKey(set: JSONWebKeySet, keys: readonly JWK[]): boolean {
  const wanted = new Set(keys.map(keyMaterial).filter((m): m is string => m !== undefined));
  return Array.isArray(set.keys) && set.keys.some((key) => {
    const material = keyMaterial(key);
    return material !== undefined && wanted.has(material);
  });
}

/**
 * Whether the JWKS at `url` holds one of `keys` (start-up's check of the emulator keys guard):
 * `undefined` when the set could not be fetched (the key set itself refuses it later, on every fetch).
 */
export async function jwksHoldsAnyKey(url: string, keys: readonly JWK[], timeoutMs = 5_000): Promise<boolean | undefined> {
  try {
    return holdsAnyKey(await fetchKeySet(url, timeoutMs), keys);
  } catch {
    return undefined;
  }
}

async function fetchKeySet(url: string, timeoutMs: number): Promise<JSONWebKeySet> {
  const response = await fetch(url, {
    redirect: 'manual',
    headers: { accept: 'application/json, application/jwk-set+json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`the JWKS answered HTTP ${response.status}`);
  }
  return (await response.json()) as JSONWebKeySet;
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof cause === 'string') return cause;
  return error instanceof Error ? error.message : String(error);
}
