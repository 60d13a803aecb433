/**
 * The emulator's mutable state: the data set, Partner Center's idempotency memory and the secret
 * that signs opaque paging tokens. `reset()` restores the seed data and forgets every replay.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmuResponse } from './messages.js';
import { createSeedState } from './seed-data.js';
import type { SeedState } from './seed-data.js';

/** How many Partner Center write answers are kept for `MS-RequestId` replay (oldest dropped first). */
const MAX_REMEMBERED_WRITES = 20_000;

/** Data plus the memories that `reset()` clears. */
export class EmulatorStore {
  /** The current data set (replaced wholesale by `reset()`). */
  data: SeedState = createSeedState();
  private readonly replays = new Map<string, EmuResponse>();
  private readonly secret = randomBytes(32);

  /** Restores the seed data and forgets every remembered write. */
  reset(): void {
    this.data = createSeedState();
    this.replays.clear();
  }

  /** The first answer given to a write with this idempotency key, if any. */
  replayOf(key: string): EmuResponse | undefined {
    const hit = this.replays.get(key);
    return hit && structuredClone(hit);
  }

  /** Remembers the answer of a write for later replays. */
  remember(key: string, response: EmuResponse): void {
    if (this.replays.has(key)) return;
    this.replays.set(key, structuredClone(response));
    if (this.replays.size > MAX_REMEMBERED_WRITES) {
      const oldest = this.replays.keys().next().value;
      if (oldest !== undefined) this.replays.delete(oldest);
    }
  }

  /** Seals a value into an opaque, tamper-evident token (paging continuation tokens). */
  seal(purpose: string, value: unknown): string {
    const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${payload}.${this.mac(purpose, payload)}`;
  }

  /** Opens a token sealed for the same purpose; `undefined` when forged, foreign or garbled. */
  unseal(purpose: string, token: string): unknown {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(purpose, payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  private mac(purpose: string, payload: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${payload}`).digest('base64url');
  }
}

/**
 * One page of a list in insertion order, keyset-paged as both upstreams page: the `size` items that pass
 * `include` after the one whose id is `after` (from the start without it; nothing when that item is
 * gone), and whether any passing item is left after them.
 */
export function pageAfter<T extends { readonly id: string }>(
  all: readonly T[],
  after: string | undefined,
  size: number,
  include: (item: T) => boolean,
): { items: T[]; more: boolean } {
  let start = 0;
  if (after !== undefined) {
    const index = all.findIndex((item) => item.id === after);
    start = index < 0 ? all.length : index + 1;
  }
  const items: T[] = [];
  for (let i = start; i < all.length; i++) {
    const item = all[i]!;
    if (!include(item)) continue;
    if (items.length === size) return { items, more: true };
    items.push(item);
  }
  return { items, more: false };
}
