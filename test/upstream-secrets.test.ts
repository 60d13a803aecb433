/**
 * An upstream that quotes back a secret the request sent (README, Observability; issue 24 item 2):
 * Partner Center answering 400 "The password … does not meet complexity" to a password change. The real
 * server over HTTP against the emulator's fault injection, its whole log captured at trace level.
 */
import { seedData } from '../src/emulator/index.js';
import { startStackForFile, type Stack } from './helpers/stack.js';

const PASSWORD = 'Quoted-Pw-8812!';
const customer = seedData.customers[0]!;
const UPDATE = 'mutation ($c: ID!, $u: ID!, $i: UpdateCustomerUserInput!) { updateCustomerUser(customerId: $c, userId: $u, input: $i) { id } }';

/** A 400 whose description quotes the password, raw and (in `data`) JSON-escaped with a quote in it. */
async function quotedBack(stack: Stack, password: string): Promise<{ body: string; logs: string }> {
  stack.emulator.injectFault({
    method: 'PATCH',
    path: '/v1/customers/*/users/*',
    status: 400,
    body: { code: 3000, description: `The password ${password} does not meet complexity`, data: [`rejected: ${password}`], source: 'PartnerFD' },
  });
  const before = stack.logs.length;
  const { body } = await stack.graphql(UPDATE, { c: customer.id, u: customer.userIds[0], i: { passwordProfile: { password, forceChangePassword: true } } });
  expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
  return { body: JSON.stringify(body), logs: stack.logs.slice(before).join('\n') };
}

describe.each([
  ['outside production (the upstream text is the message)', {}],
  ['in production', { NODE_ENV: 'production', UPSTREAM: 'microsoft' }],
])('a password the upstream quotes back, %s', (_, env) => {
  const stack = startStackForFile({ env: { LOG_LEVEL: 'trace', ...env } });

  it('is redacted from every log line (the upstream error line, the debug body) and from the answer', async () => {
    const { body, logs } = await quotedBack(stack, PASSWORD);
    expect(logs).toContain('does not meet complexity'); // the text itself is logged, for operators
    expect(logs).toContain('upstream error answer'); // the debug line with the body was written
    expect(logs).not.toContain(PASSWORD);
    expect(body).not.toContain(PASSWORD);
  });

  it('is redacted as JSON escapes it too', async () => {
    const password = 'Quote"and\\back-77';
    const { body, logs } = await quotedBack(stack, password);
    expect(logs).toContain('does not meet complexity');
    for (const form of [password, JSON.stringify(password).slice(1, -1)]) {
      expect(logs).not.toContain(form);
      expect(body).not.toContain(form);
    }
  });
});
