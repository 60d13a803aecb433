/**
 * The baseline BFF: a minimal but idiomatic Apollo Server 5 + `@apollo/datasource-rest` server, as the
 * Apollo docs show it (`startStandaloneServer`, data sources built per request in `context`, the
 * caller's `Authorization` header forwarded upstream). The bench runs it as a child process, in
 * production mode, against the same emulator as the gateway.
 *
 * Env: PORT (default 0), HOST (127.0.0.1), PARTNER_CENTER_URL, GRAPH_URL (upstream roots).
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { ChildReady } from '../lib/children.js';
import { GraphAPI, PartnerCenterAPI } from './datasources.js';
import { resolvers, typeDefs, type ContextValue } from './schema.js';

const slash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);
const partnerCenterURL = slash(process.env.PARTNER_CENTER_URL ?? 'http://127.0.0.1:4010');
const graphURL = slash(process.env.GRAPH_URL ?? partnerCenterURL);

const server = new ApolloServer<ContextValue>({ typeDefs, resolvers });

const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? '0'), host: process.env.HOST ?? '127.0.0.1' },
  context: async ({ req }) => {
    const { cache } = server;
    const token = req.headers.authorization ?? '';
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
