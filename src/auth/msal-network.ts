/**
 * msal-node's HTTP layer (`system.networkClient`), for the token exchange in `upstream-tokens.ts`.
 *
 * Why not msal's default client: it has no timeout on POSTs (a hung token endpoint would hang the
 * request until the caller gives up), it turns a 5xx/429 into a token response that msal then records in
 * its throttling cache (refusing the same exchange for up to a minute after the endpoint recovered), and
 * msal insists on `https` authorities while the emulator speaks plain http on loopback.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

/**
 * A failure msal must see as a network error (msal wraps anything that is not its own error as
 * `network_error`), so it is reported as `UPSTREAM_UNAVAILABLE` and not remembered by msal's throttling.
 */
export class IdentityProviderHttpError extends Error {
  override readonly name = 'IdentityProviderHttpError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A plain `fetch` network module with a timeout on every call. Bodies are never logged or echoed. */
export function createFetchNetworkClient(timeoutMs: number): INetworkModule {
  async function send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: options?.headers,
        body: method === 'POST' ? (options?.body ?? '') : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeout ?? timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new IdentityProviderHttpError(timedOut ? 'the identity provider timed out' : 'the identity provider is unreachable');
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw new IdentityProviderHttpError(`the identity provider answered ${response.status} without JSON`, response.status);
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key] = value;
    });
    return { status: response.status, headers, body: body as T };
  }
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

/** Maps URLs starting with `from` (an origin) to `to`, e.g. msal's `https://127.0.0.1:4010` to `http://...`. */
export interface UrlRewrite {
  readonly from: string;
  readonly to: string;
}

/**
 * Wraps a network module (ours, or one a test supplies): rewrites URLs per `rewrite`, and turns 5xx and
 * 429 answers into an {@link IdentityProviderHttpError} before msal sees them (see the module comment).
 */
export function guardNetworkClient(inner: INetworkModule, rewrite?: UrlRewrite): INetworkModule {
  // Match the origin plus "/", so https://127.0.0.1:80 never captures https://127.0.0.1:8080.
  const from = rewrite ? `${rewrite.from.replace(/\/+$/, '')}/` : undefined;
  const to = rewrite ? `${rewrite.to.replace(/\/+$/, '')}/` : undefined;
  const map = (url: string) => (from && to && url.startsWith(from) ? to + url.slice(from.length) : url);
  const check = <T>(response: NetworkResponse<T>): NetworkResponse<T> => {
    if (response.status >= 500 || response.status === 429) {
      throw new IdentityProviderHttpError(`the identity provider answered ${response.status}`, response.status);
    }
    return response;
  };
  return {
    sendGetRequestAsync: async (url, options, timeout) => check(await inner.sendGetRequestAsync(map(url), options, timeout)),
    sendPostRequestAsync: async (url, options) => check(await inner.sendPostRequestAsync(map(url), options)),
  };
}
