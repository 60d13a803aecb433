import { seedData } from '../src/emulator/index.js';
import { startStackForFile } from './helpers/stack.js';

const PROFILE = 'query { supportProfile { id email telephone website } }';
const UPDATE = `mutation Update($input: UpdateSupportProfileInput!) {
  updateSupportProfile(input: $input) { id email telephone website }
}`;
const PUT_PATH = '/v1/profiles/supportprofile';

describe('support profile', () => {
  const stack = startStackForFile();
  beforeEach(() => stack.emulator.reset());

  const puts = () => stack.emulator.requests({ service: 'partner-center', method: 'PUT' });

  it("reads the partner's profile, with the partner tenant as id", async () => {
    const { body } = await stack.graphql(PROFILE);
    expect(body.errors).toBeUndefined();
    expect(body.data?.supportProfile).toEqual({ id: seedData.partnerTenantId, ...seedData.supportProfile });
  });

  it('keeps the fields a partial update leaves out', async () => {
    const { body } = await stack.graphql(UPDATE, { input: { email: 'help@contoso.example' } });
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateSupportProfile).toEqual({
      id: seedData.partnerTenantId,
      email: 'help@contoso.example',
      telephone: seedData.supportProfile.telephone,
      website: seedData.supportProfile.website,
    });
    // The PUT carried the full resource, as Partner Center requires (docs/upstream.md §1.5).
    const [put] = puts();
    expect(put?.path).toBe(PUT_PATH);
    expect(put?.body).toMatchObject({ email: 'help@contoso.example', telephone: seedData.supportProfile.telephone, profileType: 'support_profile' });
    expect((await stack.graphql(PROFILE)).body.data?.supportProfile.email).toBe('help@contoso.example');
  });

  it('clears a field set to null', async () => {
    const { body } = await stack.graphql(UPDATE, { input: { website: null } });
    expect(body.data?.updateSupportProfile).toMatchObject({ website: null, email: seedData.supportProfile.email });
  });

  it('keeps fields set by a concurrent update', async () => {
    const [a, b] = await Promise.all([
      stack.graphql(UPDATE, { input: { email: 'a@contoso.example' } }),
      stack.graphql(UPDATE, { input: { telephone: '+1 425 555 0100' } }),
    ]);
    expect(a.body.errors).toBeUndefined();
    expect(b.body.errors).toBeUndefined();
    const final = (await stack.graphql(PROFILE)).body.data?.supportProfile;
    expect(final).toMatchObject({ email: 'a@contoso.example', telephone: '+1 425 555 0100' });
  });

  it('loses none of 50 concurrent single-field updates', async () => {
    const fields = ['email', 'telephone', 'website'] as const;
    const valueFor = (i: number) => [`user${i}@contoso.example`, `+1 425 555 ${String(1000 + i)}`, `www.site${i}.example`][i % 3]!;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stack.graphql(UPDATE, { input: { [fields[i % 3]!]: valueFor(i) } })),
    );
    expect(results.every((r) => r.body.errors === undefined)).toBe(true);

    // Every PUT starts from the state the previous PUT left: consecutive PUTs differ in at most one field.
    const bodies = puts().map((p) => p.body as Record<string, unknown>);
    expect(bodies).toHaveLength(50);
    for (let k = 1; k < bodies.length; k++) {
      const changed = fields.filter((f) => bodies[k]![f] !== bodies[k - 1]![f]);
      expect(changed.length).toBeLessThanOrEqual(1);
    }
    // And every update's value was written.
    for (let i = 0; i < 50; i++) {
      expect(bodies.some((b) => b[fields[i % 3]!] === valueFor(i))).toBe(true);
    }
    const final = (await stack.graphql(PROFILE)).body.data?.supportProfile;
    const last = bodies.at(-1)!;
    expect(final).toMatchObject({ email: last.email, telephone: last.telephone, website: last.website });
  });

  it.each([
    ['email', 'not-an-email'],
    ['telephone', 'call me maybe'],
    ['telephone', '123'],
    ['website', 'javascript:alert(1)'],
    ['website', 'ftp://files.contoso.example'],
  ])('refuses an invalid %s (%s) naming the field, with nothing sent upstream', async (field, value) => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(UPDATE, { input: { [field]: value } });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.extensions?.field).toBe(`input.${field}`);
    expect(body.errors?.[0]?.message).toContain(`input.${field}`);
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });

  it('accepts the seed example website without a scheme, and https URLs', async () => {
    for (const website of ['www.microsoft.com', 'https://support.contoso.example/help']) {
      const { body } = await stack.graphql(UPDATE, { input: { website } });
      expect(body.data?.updateSupportProfile.website).toBe(website);
    }
  });

  it('refuses an update that sets no field', async () => {
    stack.emulator.clearRequests();
    const { body } = await stack.graphql(UPDATE, { input: {} });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.emulator.requests({ service: 'partner-center' })).toHaveLength(0);
  });

  it('refuses an app-only token (Partner Center is App+User only)', async () => {
    const token = await stack.mint({ roles: ['SupportProfile.ReadWrite'] });
    const { body } = await stack.graphql(PROFILE, undefined, { token });
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.data).toBeNull();
  });

  it('refuses a read-only caller the mutation, naming the permission', async () => {
    stack.emulator.clearRequests();
    const token = await stack.mint({ scp: 'SupportProfile.Read' });
    expect((await stack.graphql(PROFILE, undefined, { token })).body.errors).toBeUndefined();
    const { body } = await stack.graphql(UPDATE, { input: { email: 'x@contoso.example' } }, { token });
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.message).toContain('SupportProfile.ReadWrite');
    expect(puts()).toHaveLength(0);
  });

  it('retries an upstream 429 and succeeds with one logical write', async () => {
    stack.emulator.injectFault({ method: 'PUT', path: PUT_PATH, status: 429, retryAfter: '0.05' });
    const { body } = await stack.graphql(UPDATE, { input: { email: 'retry@contoso.example' } });
    expect(body.errors).toBeUndefined();
    expect(body.data?.updateSupportProfile.email).toBe('retry@contoso.example');
    const attempts = puts();
    expect(attempts.map((p) => p.status)).toEqual([429, 200]);
    expect(attempts[0]?.headers['ms-requestid']).toBe(attempts[1]?.headers['ms-requestid']);
  });

  it('maps an upstream 403 to FORBIDDEN with the upstream code', async () => {
    stack.emulator.injectFault({
      method: 'GET',
      path: '/v1/profiles/support',
      status: 403,
      body: { code: 900150, description: 'Role lacks rights', data: [], source: 'PartnerFD' },
    });
    const { body } = await stack.graphql(PROFILE);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.extensions?.upstream).toMatchObject({ service: 'partner-center', status: 403, code: '900150' });
  });

  it('applies a resent mutation with the same Idempotency-Key once', async () => {
    const headers = { 'idempotency-key': 'mobile-resend-1' };
    const first = await stack.graphql(UPDATE, { input: { email: 'once@contoso.example' } }, { headers });
    const second = await stack.graphql(UPDATE, { input: { email: 'once@contoso.example' } }, { headers });
    expect(first.body.data).toEqual(second.body.data);
    const ids = puts().map((p) => p.headers['ms-requestid']);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it("two aliased updates under one Idempotency-Key are two writes: b's change is not lost", async () => {
    const twice = `mutation Twice {
      a: updateSupportProfile(input: { email: "alias-a@contoso.example" }) { email telephone }
      b: updateSupportProfile(input: { telephone: "+1 425 555 0199" }) { email telephone }
    }`;
    const headers = { 'idempotency-key': 'one-key-two-writes' };
    const { body } = await stack.graphql(twice, undefined, { headers });
    expect(body.errors).toBeUndefined();
    expect(body.data?.b).toEqual({ email: 'alias-a@contoso.example', telephone: '+1 425 555 0199' });
    expect((await stack.graphql(PROFILE)).body.data?.supportProfile).toMatchObject({ email: 'alias-a@contoso.example', telephone: '+1 425 555 0199' });
    const [a, b] = puts().map((p) => p.headers['ms-requestid']);
    expect(a).not.toBe(b);
    const resent = await stack.graphql(twice, undefined, { headers });
    expect(resent.body.data).toEqual(body.data);
    expect(puts().slice(2).map((p) => p.headers['ms-requestid'])).toEqual([a, b]);
  });

  it('refuses a malformed Idempotency-Key', async () => {
    const { body } = await stack.graphql(UPDATE, { input: { email: 'x@contoso.example' } }, { headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
