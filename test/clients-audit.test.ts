/**
 * The GraphQL-over-HTTP conformance audit of `graphql-http` against the real server. Every MUST passes;
 * the SHOULDs and MAYs that do not are listed here (and in the README, with the reason) so a change
 * in either direction is noticed.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { startStack, type Stack } from './helpers/stack.js';

/**
 * SHOULD/MAY audits the gateway does not meet, by audit id, each for a reason given in the README
 * ("GraphQL over HTTP conformance").
 */
const KNOWN_NOT_OK: Record<string, string> = {
  // Apollo Server answers 400 to a request that cannot run (README, Hardening: refused documents are 400),
  // whatever the Accept header; the spec's legacy application/json advice is 200.
  '572B': 'SHOULD use 200 status code on document parsing failure when accepting application/json',
  FDE2: 'SHOULD use 200 status code on document validation failure when accepting application/json',
  '7B9B': 'SHOULD use a status code of 200 on variable coercion failure when accepting application/json',
};

let stack: Stack;
let results: AuditResult[];
beforeAll(async () => {
  stack = await startStack();
  const audits = serverAudits({
    url: `${stack.url}/graphql`,
    // Apollo's CSRF prevention refuses a GET that could be a simple cross-site request; a real client
    // sends a preflight-forcing header (Apollo's own clients send `x-apollo-operation-name`).
    fetchFn: (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'apollo-require-preflight': 'true' } }),
  });
  results = [];
  for (const audit of audits) results.push(await audit.fn());
});
afterAll(() => stack.close());

describe('graphql-http server audit', () => {
  it('ran the whole audit', () => {
    expect(results.length).toBeGreaterThan(40);
    expect(results.filter((r) => r.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  it('passes every MUST', () => {
    const failed = results.filter((r) => r.name.startsWith('MUST') && r.status !== 'ok').map((r) => `${r.id} ${r.name}: ${r.status === 'ok' ? '' : r.reason}`);
    expect(failed).toEqual([]);
  });

  it('fails only the known SHOULDs and MAYs', () => {
    const notOk = Object.fromEntries(results.filter((r) => r.status !== 'ok').map((r) => [r.id, r.name]));
    expect(notOk).toEqual(KNOWN_NOT_OK);
  });
});
