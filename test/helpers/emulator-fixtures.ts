/** Shared helpers for the tests that speak to the emulator: one emulator per file, tokens for each upstream and a small JSON client. */
import { GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE, startEmulator } from '../../src/emulator/index.js';

/** The emulator's public names the emulator tests use, from one import. */
export {
  EMULATOR_GATEWAY_AUDIENCE,
  GRAPH_RESOURCE,
  PARTNER_CENTER_RESOURCE,
  PERSONAL_ACCOUNT_TENANT_ID,
  seedData,
  startEmulator,
} from '../../src/emulator/index.js';
import type { Emulator, MintOptions } from '../../src/emulator/index.js';
import { startedForFile } from './for-file.js';

/**
 * The emulator of a test file (or of the `describe` block this is called in): started in test mode
 * (its request log on) before the first test, closed after the last (see `startedForFile`).
 */
export function startEmulatorForFile(): Emulator {
  return startedForFile('the emulator', () => startEmulator({ testMode: true }), (emulator) => emulator.close());
}

/** A delegated token as the gateway would hold after On-Behalf-Of for Partner Center. */
export function partnerCenterToken(emulator: Emulator, opts: MintOptions = {}): Promise<string> {
  return emulator.mintToken({ audience: PARTNER_CENTER_RESOURCE, scp: 'user_impersonation', ...opts });
}

/** A delegated token for Graph holding ExternalUserProfile.ReadWrite.All unless told otherwise. */
export function graphToken(emulator: Emulator, opts: MintOptions = {}): Promise<string> {
  return emulator.mintToken({ audience: GRAPH_RESOURCE, scp: 'ExternalUserProfile.ReadWrite.All', ...opts });
}

/** A parsed HTTP answer. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Sends a request to the emulator and parses a JSON answer (body `undefined` when empty). */
export async function call<T = any>(
  emulator: Emulator,
  method: string,
  path: string,
  init: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const url = /^https?:/.test(path) ? path : `${emulator.url}${path}`;
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text === '' ? undefined : JSON.parse(text)) as T };
}
