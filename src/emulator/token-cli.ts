/**
 * `npm run token`: asks the running emulator for a dev bearer token and prints it on stdout.
 *
 *   npm run token                                   # delegated, every gateway permission
 *   npm run token -- --scp "SupportProfile.ReadWrite CustomerUser.ReadWrite.All"
 *   npm run token -- --roles ExternalUserProfile.ReadWrite.All    # app-only: idtyp app, sub = oid (comma or repeated)
 *   npm run token -- --msa                          # personal Microsoft account
 *   npm run token -- --url http://127.0.0.1:4010    # default: $EMULATOR_URL or http://127.0.0.1:4010
 */
import { pathToFileURL } from 'node:url';
import type { MintOptions } from './identity.js';

/** Where the CLI looks for the emulator when neither `--url` nor `EMULATOR_URL` is given. */
export const DEFAULT_EMULATOR_URL = 'http://127.0.0.1:4010';

/** Parsed command line of the token CLI. */
export interface TokenCliArgs {
  url: string;
  mint: MintOptions;
}

const USAGE = `usage: npm run token -- [--scp "A B"] [--roles R1,R2]... [--msa] [--tenant <guid>] [--oid <guid>]
                        [--audience <aud>] [--expires-in <seconds>] [--url <emulator url>]`;

/** Parses the CLI arguments; throws an `Error` with a usage message on bad input. */
export function parseTokenCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): TokenCliArgs {
  const mint: MintOptions = {};
  let url = env.EMULATOR_URL || DEFAULT_EMULATOR_URL;
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
  return { url: url.replace(/\/+$/, ''), mint };
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
  try {
    process.stdout.write(`${await requestToken(args)}\n`);
    return 0;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (err instanceof TypeError || cause?.code === 'ECONNREFUSED') {
      process.stderr.write(`No emulator answers at ${args.url}: start the gateway with npm start first (UPSTREAM=emulator).\n`);
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
