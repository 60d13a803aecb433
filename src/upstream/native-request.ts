/**
 * got's `request` option for the transport: Node's `http.request` / `https.request`, handed only the
 * native options got gave a value.
 *
 * got builds Node's request options with every option it knows of, about 40 keys of which a GET to an
 * upstream sets a dozen (method, headers, agent, TLS checks); the rest are present but `undefined`. Node
 * then copies that object for each request (`ClientRequest`, `Agent.addRequest`, each copy merged with the
 * agent's own options into a null-prototype object), and objects of that many keys are dictionaries: the
 * copies were the largest single allocations of an upstream call. A key set to `undefined` and a key left
 * out mean the same to Node (it tests each with `=== undefined` or `typeof`), so the request is the same.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';

/** The request function (got's `RequestFunction` shape: URL, native options, response callback). */
export function requestWithDefinedOptions(url: URL, options: Readonly<Record<string, unknown>>, callback?: (response: IncomingMessage) => void): ClientRequest {
  const defined: Record<string, unknown> = {};
  for (const key in options) {
    const value = options[key];
    if (value !== undefined) defined[key] = value;
  }
  return (url.protocol === 'https:' ? https : http).request(url, defined, callback);
}
