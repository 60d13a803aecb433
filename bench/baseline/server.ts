/**
 * The baseline BFF: a minimal but idiomatic Apollo Server 5 + `@apollo/datasource-rest` server, as the
 * Apollo docs show it (`startStandaloneServer`, data sources built per request in `context`, the
 * caller's `Authorization` header forwarded upstream), plus what any real BFF does first: the caller's
 * JWT checked with jose (signature against the issuer's JWKS, fetched once and cached by jose; audience;
 * issuer matching the token's tenant). The bench runs it as a child process, in production mode, against
 * the same emulator as the gateway.
 *
 * Env: PORT (default 0), HOST (127.0.0.1), PARTNER_CENTER_URL, GRAPH_URL (upstream roots),
 * AUTH_JWKS_URL, AUTH_ISSUER (template with `{tenantid}`), AUTH_AUDIENCE (comma-separated).
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { ChildReady } from '../lib/children.js';
import { GraphAPI, PartnerCenterAPI } from './datasources.js';
import { resolvers, typeDefs, type ContextValue } from './schema.js';

const slash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);
const partnerCenterURL = slash(process.env.PARTNER_CENTER_URL ?? 'http://127.0.0.1:4010');
const graphURL = slash(process.env.GRAPH_URL ?? partnerCenterURL);

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const jwks = createRemoteJWKSet(new URL(required('AUTH_JWKS_URL')));
const issuerTemplate = required('AUTH_ISSUER');
const audience = required('AUTH_AUDIENCE').split(',');

const unauthenticated = () => new GraphQLError('Unauthenticated', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** Verifies the caller's bearer token; answers 401 otherwise. */
async function verify(authorization: string): Promise<void> {
  const match = /^Bearer (.+)$/i.exec(authorization);
  if (!match) throw unauthenticated();
  try {
    const { payload } = await jwtVerify(match[1]!, jwks, { audience });
    if (typeof payload.tid !== 'string' || payload.iss !== issuerTemplate.replace('{tenantid}', payload.tid)) throw new Error('issuer');
  } catch {
    throw unauthenticated();
  }
}

const server = new ApolloServer<ContextValue>({ typeDefs, resolvers });

const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? '0'), host: process.env.HOST ?? '127.0.0.1' },
  context: async ({ req }) => {
    const { cache } = server;
    const token = req.headers.authorization ?? '';
    await verify(token);
    return {
      token,
      dataSources: {
        partnerCenter: new PartnerCenterAPI({ baseURL: partnerCenterURL, token, cache }),
        graph: new GraphAPI({ baseURL: graphURL, token, cache }),
      },
    };
  },
});

const ready: ChildReady = { kind: 'ready', url: url.replace(/\/$/, '') };
process.send?.(ready);

const stop = (): void => {
  void server.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
