/**
 * The process logger (pino, JSON lines). Credentials never reach a log line: `Authorization`
 * headers, tokens, client secrets and any `password` (at any depth pino can address) are redacted.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths redacted from every log line (pino `redact`; `*` matches one level). */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'clientSecret',
  '*.clientSecret',
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'passwordProfile',
  '*.passwordProfile',
  '*.*.passwordProfile',
  'variables.input.passwordProfile',
];

export interface LoggerOptions {
  /** pino level. @default 'info' */
  level?: string;
  /** Where lines go. @default stdout */
  destination?: pino.DestinationStream;
}

/** Creates the root logger; request loggers are its children carrying the correlation id. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'partner-bff-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
