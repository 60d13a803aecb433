/**
 * `npm run token`: asks the running emulator for a dev bearer token and prints it on stdout.
 *
 *   npm run token                                   # delegated, every gateway permission
 *   npm run token -- --scp "SupportProfile.ReadWrite CustomerUser.ReadWrite.All"
 *   npm run token -- --roles ExternalUserProfile.ReadWrite.All    # app-only: idtyp app, sub = oid (comma or repeated)
 *   npm run token -- --msa                          # personal Microsoft account
 *   npm run token -- --url http://127.0.0.1:4010    # default: $EMULATOR_URL, else port $EMULATOR_PORT, else 4010
 *   TOKEN=$(npm run -s token)                        # -s: npm's own header lines stay out of the capture
 *
 * The emulator is found from the same variable as `npm start` (EMULATOR_PORT), and stderr says which
 * emulator answered, so a token never silently comes from another process on the default port.
 */
import { pathToFileURL } from 'node:url';
import type { MintOptions } from './identity.js';

/** Where the CLI looks for the emulator when neither `--url`, `EMULATOR_URL` nor `EMULATOR_PORT` is given. */
export const DEFAULT_EMULATOR_URL = 'http://127.0.0.1:4010';

/** Parsed command line of the token CLI. */
export interface TokenCliArgs {
  url: string;
  /** What chose `url`, for the line on stderr. */
  source: '--url' | 'EMULATOR_URL' | 'EMULATOR_PORT' | 'default';
  mint: MintOptions;
}

/** The emulator's URL as `npm start` places it: loopback, port `EMULATOR_PORT` (main.ts, config.ts). */
function urlFromEnv(env: Readonly<Record<string, string | undefined>>): Pick<TokenCliArgs, 'url' | 'source'> {
  if (env.EMULATOR_URL) return { url: env.EMULATOR_URL, source: 'EMULATOR_URL' };
  const port = env.EMULATOR_PORT;
  if (port === undefined || port === '') return { url: DEFAULT_EMULATOR_URL, source: 'default' };
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`EMULATOR_PORT must be a whole number from 0 to 65535`);
  if (Number(port) === 0) {
    throw new Error('EMULATOR_PORT=0 gives the emulator a new port at each start: pass --url with the emulator URL npm start printed');
  }
  return { url: `http://127.0.0.1:${Number(port)}`, source: 'EMULATOR_PORT' };
}

const USAGE = `usage: npm run token -- [--scp "A B"] [--roles R1,R2]... [--msa] [--tenant <guid>] [--oid <guid>]
                        [--audience <aud>] [--expires-in <seconds>] [--url <emulator url>]`;

/** Parses the CLI arguments; throws an `Error` with a usage message on bad input. */
export function parseTokenCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): TokenCliArgs {
  const mint: MintOptions = {};
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--scp':
        mint.scp = [mint.scp, value()].filter(Boolean).join(' ');
        break;
      case '--roles':
      case '--role':
        mint.roles = [...(mint.roles ?? []), ...value().split(',').map((r) => r.trim()).filter(Boolean)];
        break;
      case '--msa':
        mint.msa = true;
        break;
      case '--tenant':
        mint.tenantId = value();
        break;
      case '--oid':
        mint.objectId = value();
        break;
      case '--audience':
        mint.audience = value();
        break;
      case '--expires-in': {
        const seconds = Number(value());
        if (!Number.isFinite(seconds)) throw new Error(`--expires-in needs a number of seconds\n${USAGE}`);
        mint.expiresInSeconds = seconds;
        break;
      }
      case '--url':
        url = value();
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown argument '${arg}'\n${USAGE}`);
    }
  }
  const chosen = url !== undefined ? { url, source: '--url' as const } : urlFromEnv(env);
  return { url: chosen.url.replace(/\/+$/, ''), source: chosen.source, mint };
}

/** Mints a token through a running emulator's `POST /_emulator/tokens`. */
export async function requestToken(args: TokenCliArgs): Promise<string> {
  const response = await fetch(`${args.url}/_emulator/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args.mint),
  });
  const body = (await response.json().catch(() => undefined)) as { token?: unknown; error?: unknown } | undefined;
  if (!response.ok || typeof body?.token !== 'string') {
    throw new Error(`the emulator refused to mint a token (HTTP ${response.status}): ${String(body?.error ?? 'no details')}`);
  }
  return body.token;
}

/** CLI entry: prints just the token on stdout; problems go to stderr with exit code 1. */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let args: TokenCliArgs;
  try {
    args = parseTokenCliArgs(argv, env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  const where = `${args.url} (${args.source === 'default' ? 'the default; EMULATOR_PORT or --url choose another' : `from ${args.source}`})`;
  try {
    const token = await requestToken(args);
    process.stderr.write(`Token minted by the emulator at ${where}\n`);
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (err instanceof TypeError || cause?.code === 'ECONNREFUSED') {
      process.stderr.write(`No emulator answers at ${where}: start the gateway with npm start first (UPSTREAM=emulator).\n`);
    } else {
      process.stderr.write(`${(err as Error).message}\n`);
    }
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
