import { createLogger } from '../src/logger.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { log, text: () => lines.join('\n') };
}

describe('logger', () => {
  it('redacts authorization headers, tokens and passwords', () => {
    const { log, text } = capture();
    log.info({ headers: { authorization: 'Bearer secret-token' }, token: 'tok-1', variables: { input: { passwordProfile: { password: 'Pa55-word!' } } } });
    log.info({ password: 'Pa55-word!', passwordProfile: { password: 'Pa55-word!' } });
    log.info({ patch: { password: 'Pa55-word!' }, upstream: { token: 'tok-1', accessToken: 'tok-1' } });
    expect(text()).not.toMatch(/secret-token|tok-1|Pa55-word!/);
    expect(text()).toContain('[redacted]');
  });

  it('logs errors as type, message, code and stack only: no request options or headers', () => {
    const { log, text } = capture();
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      options: { headers: { authorization: 'Bearer leaked-token' } },
      cause: Object.assign(new Error('inner'), { request: { headers: { authorization: 'Bearer leaked-2' } } }),
    });
    log.error({ err: error }, 'upstream failed');
    const line = JSON.parse(text());
    expect(line.err).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED', cause: { message: 'inner' } });
    expect(text()).not.toMatch(/leaked/);
  });
});
