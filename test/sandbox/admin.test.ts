import { SANDBOX_OWNER_EMAIL } from '../../tools/sandbox/server';
import type { Sandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, call, multiByteEmail, startTestSandbox, stringField } from './helpers';
import type { ApiResponse, CallOptions } from './helpers';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});

afterAll(async () => {
  await sandbox.close();
});

function admin(method: string, route: string, body?: unknown): Promise<ApiResponse> {
  return call(sandbox.adminBaseUrl, method, route, { headers: ADMIN_AUTH, body });
}

function raw(method: string, route: string, options: CallOptions): Promise<ApiResponse> {
  return call(sandbox.adminBaseUrl, method, route, options);
}

function expectError(response: ApiResponse, status: number, text: string): void {
  expect(response.status).toBe(status);
  expect(response.contentType).toMatch(/^text\/plain/);
  expect(response.text).toBe(text);
}

let sequence = 0;
function uniqueEmail(): string {
  sequence += 1;
  return `admin-user-${sequence}@example.com`;
}

const TOKEN_PATTERN = /^a1-[A-Za-z0-9_-]{32}$/;

describe('Admin sandbox: authentication', () => {
  it('answers 401 "Authorization header must be provided" without the header', async () => {
    expectError(await raw('GET', '/user', {}), 401, 'Authorization header must be provided');
  });

  it('answers 403 "Valid API token must be provided" for a wrong token', async () => {
    const response = await raw('GET', '/users', { headers: { Authorization: 'Bearer nope' } });
    expectError(response, 403, 'Valid API token must be provided');
  });

  it('answers 403 for the right token under another scheme', async () => {
    const response = await raw('GET', '/user', {
      headers: { Authorization: 'Basic sandbox-admin-token' },
    });
    expectError(response, 403, 'Valid API token must be provided');
  });

  it('accepts the scheme in any case', async () => {
    const response = await raw('GET', '/user', {
      headers: { Authorization: 'bearer sandbox-admin-token' },
    });
    expect(response.status).toBe(200);
  });

  it('does not accept the Deal.ai key header', async () => {
    const response = await raw('GET', '/user', {
      headers: { 'Deal-AI-API-Key': 'sandbox-dealai-key' },
    });
    expectError(response, 401, 'Authorization header must be provided');
  });

  it('does not accept a provisioned account token (only the configured admin token)', async () => {
    const created = await admin('POST', '/users', { email: uniqueEmail() });
    const token = stringField(created.json(), 'token');
    const response = await raw('GET', '/user', { headers: { Authorization: `Bearer ${token}` } });
    expectError(response, 403, 'Valid API token must be provided');
  });
});

describe('Admin sandbox: POST /users', () => {
  it('provisions an account: 201 with the normalized email, a fresh token and the credits', async () => {
    const response = await admin('POST', '/users', {
      email: '  New.User@Example.COM ',
      credits: 1000,
    });
    expect(response.status).toBe(201);
    expect(response.contentType).toMatch(/^application\/json/);
    const body = response.json();
    expect(Object.keys(body ?? {}).sort()).toEqual(['credits', 'email', 'token']);
    expect(body).toMatchObject({ email: 'new.user@example.com', credits: 1000 });
    expect(stringField(body, 'token')).toMatch(TOKEN_PATTERN);
  });

  it('defaults credits to 0 (also for null) and issues a different token per account', async () => {
    const first = await admin('POST', '/users', { email: uniqueEmail() });
    const second = await admin('POST', '/users', { email: uniqueEmail(), credits: null });
    expect(first.json()).toMatchObject({ credits: 0 });
    expect(second.json()).toMatchObject({ credits: 0 });
    expect(stringField(first.json(), 'token')).not.toBe(stringField(second.json(), 'token'));
  });

  it('answers 409 "Email already exists" whatever the case', async () => {
    const email = uniqueEmail();
    expect((await admin('POST', '/users', { email })).status).toBe(201);
    expectError(
      await admin('POST', '/users', { email: email.toUpperCase() }),
      409,
      'Email already exists',
    );
  });

  it.each([
    ['a missing email', {}, 'Email must be provided'],
    ['a blank email', { email: '  ' }, 'Email must be provided'],
    ['an invalid email', { email: 'user@' }, 'Email must be a valid address'],
    ['a non-string email', { email: ['a@example.com'] }, 'Email must be a valid address'],
    [
      'negative credits',
      { email: 'c1@example.com', credits: -1 },
      'Credits must be a non-negative integer',
    ],
    [
      'fractional credits',
      { email: 'c2@example.com', credits: 1.5 },
      'Credits must be a non-negative integer',
    ],
    [
      'string credits',
      { email: 'c3@example.com', credits: '10' },
      'Credits must be a non-negative integer',
    ],
    [
      'unsafe credits',
      { email: 'c4@example.com', credits: 2 ** 53 },
      'Credits must be a non-negative integer',
    ],
  ])('answers 422 for %s', async (_case, body, text) => {
    expectError(await admin('POST', '/users', body), 422, text);
  });

  it('answers 422 when the body is not a JSON object', async () => {
    expectError(
      await admin('POST', '/users', 'a@example.com'),
      422,
      'Request body must be a JSON object',
    );
  });

  it('counts the 255-character limit in characters, not bytes', async () => {
    const longest = multiByteEmail(255);
    expect(Array.from(longest)).toHaveLength(255);
    expect(Buffer.byteLength(longest)).toBeGreaterThan(255);

    const accepted = await admin('POST', '/users', { email: longest });
    expect(accepted.status).toBe(201);
    expect(accepted.json()).toMatchObject({ email: longest.toLowerCase() });

    expectError(
      await admin('POST', '/users', { email: multiByteEmail(256) }),
      422,
      'Character counts must be no more than 255',
    );
    expectError(
      await admin('POST', '/users', { email: `${'a'.repeat(244)}@example.com` }),
      422,
      'Character counts must be no more than 255',
    );
  });

  it('answers 400 "JSON was malformed" for malformed JSON', async () => {
    const response = await raw('POST', '/users', { headers: ADMIN_AUTH, rawBody: '{"email":' });
    expectError(response, 400, 'JSON was malformed');
  });
});

describe('Admin sandbox: GET /users', () => {
  const emails = ['list-a@example.com', 'list-b@example.com', 'list-c@example.com'];

  beforeAll(async () => {
    for (const [index, email] of emails.entries()) {
      await admin('POST', '/users', { email, credits: index * 10 });
    }
  });

  it('finds accounts by repeated email keys, case-insensitively, omitting unknown ones', async () => {
    const response = await admin(
      'GET',
      `/users?email=${encodeURIComponent(' LIST-C@example.com ')}&email=nobody@example.com&email=List-A@Example.com`,
    );
    expect(response.status).toBe(200);
    expect(response.json()).toEqual([
      { email: 'list-c@example.com', credits: 20 },
      { email: 'list-a@example.com', credits: 0 },
    ]);
  });

  it('finds one account by a single key', async () => {
    const response = await admin('GET', '/users?email=list-b@example.com');
    expect(response.json()).toEqual([{ email: 'list-b@example.com', credits: 10 }]);
  });

  it('lists each account once even when asked twice', async () => {
    const response = await admin('GET', '/users?email=list-b@example.com&email=LIST-B@example.com');
    expect(response.json()).toEqual([{ email: 'list-b@example.com', credits: 10 }]);
  });

  it('answers an empty array when nothing matches (including an empty value)', async () => {
    expect((await admin('GET', '/users?email=nobody@example.com')).json()).toEqual([]);
    expect((await admin('GET', '/users?email=')).json()).toEqual([]);
  });

  it('lists every account without an email key', async () => {
    const response = await admin('GET', '/users');
    expect(response.status).toBe(200);
    const expected = emails.map((email, index) => ({ email, credits: index * 10 }));
    expect(response.json()).toEqual(expect.arrayContaining(expected));
  });
});

describe('Admin sandbox: PATCH /users', () => {
  it('grants credits and answers the new balance', async () => {
    const email = uniqueEmail();
    await admin('POST', '/users', { email, credits: 100 });
    const response = await admin('PATCH', '/users', { email: email.toUpperCase(), amount: 50 });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ email, credits: 150 });
    const again = await admin('PATCH', '/users', { email, amount: 1 });
    expect(again.json()).toEqual({ email, credits: 151 });
  });

  it('answers 404 "Email is nonexistent" for an unknown account', async () => {
    expectError(
      await admin('PATCH', '/users', { email: uniqueEmail(), amount: 5 }),
      404,
      'Email is nonexistent',
    );
  });

  it.each([
    ['a missing amount', {}],
    ['a zero amount', { amount: 0 }],
    ['a negative amount', { amount: -5 }],
    ['a fractional amount', { amount: 2.5 }],
    ['a string amount', { amount: '5' }],
  ])('answers 422 "Amount must be a positive integer" for %s', async (_case, amount) => {
    const email = uniqueEmail();
    await admin('POST', '/users', { email });
    expectError(
      await admin('PATCH', '/users', { email, ...amount }),
      422,
      'Amount must be a positive integer',
    );
  });

  it('answers 422 when the balance would exceed the largest safe integer', async () => {
    const email = uniqueEmail();
    await admin('POST', '/users', { email, credits: Number.MAX_SAFE_INTEGER - 1 });
    expect((await admin('PATCH', '/users', { email, amount: 1 })).json()).toEqual({
      email,
      credits: Number.MAX_SAFE_INTEGER,
    });
    expectError(
      await admin('PATCH', '/users', { email, amount: 1 }),
      422,
      `Credits must be no more than ${Number.MAX_SAFE_INTEGER}`,
    );
  });

  it('answers 422 for an invalid email and 400 for malformed JSON', async () => {
    expectError(
      await admin('PATCH', '/users', { email: 'nope', amount: 1 }),
      422,
      'Email must be a valid address',
    );
    expectError(
      await raw('PATCH', '/users', { headers: ADMIN_AUTH, rawBody: '{"amount": 1,}' }),
      400,
      'JSON was malformed',
    );
  });
});

describe('Admin sandbox: DELETE /users', () => {
  it('deactivates an account: 200 with zero credits; afterwards it is gone', async () => {
    const email = uniqueEmail();
    const created = await admin('POST', '/users', { email, credits: 500 });
    const firstToken = stringField(created.json(), 'token');

    const response = await admin('DELETE', '/users', { email: ` ${email.toUpperCase()}` });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ email, credits: 0 });

    expect((await admin('GET', `/users?email=${email}`)).json()).toEqual([]);
    expect((await admin('GET', '/users')).json()).not.toContainEqual(
      expect.objectContaining({ email }),
    );
    expectError(await admin('PATCH', '/users', { email, amount: 1 }), 404, 'Email is nonexistent');
    expectError(await admin('DELETE', '/users', { email }), 404, 'Email is nonexistent');

    const recreated = await admin('POST', '/users', { email });
    expect(recreated.status).toBe(201);
    expect(recreated.json()).toMatchObject({ email, credits: 0 });
    expect(stringField(recreated.json(), 'token')).not.toBe(firstToken);
  });

  it('answers 422 without an email and 400 for malformed JSON', async () => {
    expectError(await admin('DELETE', '/users', {}), 422, 'Email must be provided');
    expectError(
      await raw('DELETE', '/users', { headers: ADMIN_AUTH, rawBody: "{'email': 'a@b.co'}" }),
      400,
      'JSON was malformed',
    );
  });
});

describe('Admin sandbox: GET /user', () => {
  it("answers the owner's account", async () => {
    const response = await admin('GET', '/user');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual([{ email: SANDBOX_OWNER_EMAIL, credits: 1_000_000 }]);
  });
});

describe('Admin sandbox: other routes', () => {
  it('answers 404 as a router does for unknown routes, before authentication', async () => {
    const router = (response: ApiResponse) => {
      expect(response.status).toBe(404);
      expect(response.contentType).toMatch(/^application\/json/);
      expect(response.json()).toEqual({ error: 'Not Found' });
    };
    router(await admin('GET', '/'));
    router(await admin('PUT', '/users', { email: 'a@example.com' }));
    router(await admin('GET', '/users/someone'));
    router(await raw('DELETE', '/v2/users', { body: { email: 'a@example.com' } }));
    router(await raw('GET', '/user/', { headers: { Authorization: 'Bearer nope' } }));
  });

  it('keeps its accounts apart from the Deal.ai users', async () => {
    const email = uniqueEmail();
    await admin('POST', '/users', { email });
    const response = await call(sandbox.dealaiBaseUrl, 'DELETE', '/users', {
      headers: { 'Deal-AI-API-Key': 'sandbox-dealai-key' },
      body: { email },
    });
    expect(response.status).toBe(404);
  });
});
