/**
 * Apollo Server's side of the one error formatter (`formatGatewayError`, src/errors.ts): whatever a
 * resolver or the context function threw becomes the contract's error shape (README, Errors).
 * Gateway errors keep their message and gain `extensions.code` (+ their own extensions); Apollo's
 * request-level errors keep Apollo's codes; anything else is masked as INTERNAL_SERVER_ERROR: the detail
 * is logged (with the correlation id) by the logging plugin, never sent. Like Apollo's own
 * `errorNormalize.ts`, this never throws.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { APOLLO_REQUEST_CODES, GatewayError, formatGatewayError } from '../errors.js';
import type { FormatOptions } from '../errors.js';

/** Apollo Server's standard request-level codes, passed through untouched. */
const APOLLO_CODES: ReadonlySet<string> = new Set([
  ...APOLLO_REQUEST_CODES,
  // Apollo's own, for variables that do not coerce.
  'BAD_USER_INPUT',
]);

/**
 * Apollo Server raises a few request-level refusals with an HTTP 4xx status but no code: a persisted
 * query whose `sha256Hash` does not match its document ("provided sha does not match query"), an
 * unsupported persisted query version. They are the client's mistake, so they are answered
 * `BAD_REQUEST` with Apollo's message, not masked, and not logged as server errors.
 */
export function isUncodedClientError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined || error.path) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** The gateway error behind `error`: a resolver's (wrapped with a path) or a request-level one's. */
function gatewayErrorOf(error: unknown): GatewayError | undefined {
  const original = unwrapResolverError(error);
  if (original instanceof GatewayError) return original;
  if (original instanceof GraphQLError && original.originalError instanceof GatewayError) return original.originalError;
  return undefined;
}

/** Options of `createFormatError`. */
export interface FormatErrorOptions {
  /**
   * Production: an upstream's own error description never reaches a client; the message is the one
   * the gateway wrote (by the upstream's code where known, else by status). @default false
   */
  readonly production?: boolean;
}

/** Apollo's `formatError`, for production or not. */
export function createFormatError(options: FormatErrorOptions = {}): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  const formatOptions = { production: options.production ?? false };
  return (formatted, error) => formatWith(formatted, error, formatOptions);
}

/** Apollo's `formatError` outside production. */
export const formatError = createFormatError();

function formatWith(formatted: GraphQLFormattedError, error: unknown, formatOptions: FormatOptions): GraphQLFormattedError {
  const gatewayError = gatewayErrorOf(error);
  if (gatewayError) {
    const { message, extensions } = formatGatewayError(gatewayError, formatOptions);
    return {
      message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions,
    };
  }
  if (isUncodedClientError(error)) return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && APOLLO_CODES.has(code)) {
    // Strip Apollo's stack traces and anything else beyond the code and safe extras.
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  const { message, extensions } = formatGatewayError(error);
  return { message, ...(formatted.path ? { path: formatted.path } : {}), extensions };
}
