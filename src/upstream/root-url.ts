/**
 * An upstream root as configured (`PARTNER_CENTER_URL`, `GRAPH_URL`), parsed once per process: the
 * clients are created per request, and a root's origin and path never change.
 */

/** The origin of a root and its path without trailing slashes (`''` for none). */
export interface UpstreamRoot {
  readonly origin: string;
  readonly path: string;
}

/** Parsed roots by their configured text; as many entries as configured roots. */
const ROOTS = new Map<string, UpstreamRoot>();

/** `baseUrl` parsed (once), e.g. `https://api.partnercenter.microsoft.com` → that origin and `''`. */
export function upstreamRoot(baseUrl: string): UpstreamRoot {
  let root = ROOTS.get(baseUrl);
  if (root === undefined) {
    const url = new URL(baseUrl);
    root = Object.freeze({ origin: url.origin, path: url.pathname.replace(/\/+$/, '') });
    ROOTS.set(baseUrl, root);
  }
  return root;
}
