import { DEALAI_PREFIX } from '../../tools/sandbox/server';
import type { Sandbox } from '../../tools/sandbox/server';
import { DEALAI_AUTH, call, multiByteEmail, startTestSandbox } from './helpers';
import type { ApiResponse, CallOptions } from './helpers';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});

afterAll(async () => {
  await sandbox.close();
});

function dealai(method: string, route: string, body?: unknown): Promise<ApiResponse> {
  return call(sandbox.dealaiBaseUrl, method, route, { headers: DEALAI_AUTH, body });
}

function raw(method: string, route: string, options: CallOptions): Promise<ApiResponse> {
  return call(sandbox.dealaiBaseUrl, method, route, options);
}

function expectError(response: ApiResponse, status: number, message: string): void {
  expect(response.status).toBe(status);
  expect(response.contentType).toMatch(/^application\/json/);
  expect(response.json()).toEqual({ error: message });
}

let sequence = 0;
function uniqueEmail(): string {
  sequence += 1;
  return `deal-user-${sequence}@example.com`;
}

describe('Deal.ai sandbox: base URL', () => {
  it('lives under the versioned white-label prefix', () => {
    expect(sandbox.dealaiBaseUrl).toBe(`${sandbox.url}${DEALAI_PREFIX}`);
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('Deal.ai sandbox: authentication', () => {
  it('answers 401 when the Deal-AI-API-Key header is missing', async () => {
    const response = await raw('POST', '/users', {
      body: { firstName: 'A', email: uniqueEmail() },
    });
    expectError(response, 401, 'Deal-AI-API-Key header is required');
  });

  it('answers 401 when the header is blank', async () => {
    const response = await raw('DELETE', '/users', {
      headers: { 'Deal-AI-API-Key': '  ' },
      body: { email: uniqueEmail() },
    });
    expectError(response, 401, 'Deal-AI-API-Key header is required');
  });

  it('answers 403 for a wrong key', async () => {
    const response = await raw('PATCH', '/users/role', {
      headers: { 'Deal-AI-API-Key': 'not-the-key' },
      body: { email: uniqueEmail() },
    });
    expectError(response, 403, 'Invalid API key');
  });

  it('does not accept the admin bearer token', async () => {
    const response = await raw('PATCH', '/users/role', {
      headers: { Authorization: 'Bearer sandbox-admin-token' },
      body: {},
    });
    expect(response.status).toBe(401);
  });
});

describe('Deal.ai sandbox: POST /users', () => {
  it('adds a user and answers 200 with the normalized email', async () => {
    const response = await dealai('POST', '/users', {
      firstName: '  John ',
      lastName: 'Doe',
      email: '  John.Doe@Example.COM ',
      password: 'securePassword123',
      sendInviteEmail: 'yes',
      role: 'Premium Plan',
    });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      message: 'User added',
      email: 'john.doe@example.com',
      firstName: 'John',
      lastName: 'Doe',
      role: 'Premium Plan',
    });
  });

  it('needs only firstName and email; role and lastName default to null', async () => {
    const email = uniqueEmail();
    const response = await dealai('POST', '/users', { firstName: 'Ann', email });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      message: 'User added',
      email,
      firstName: 'Ann',
      lastName: null,
      role: null,
    });
  });

  it('treats an empty role as no role', async () => {
    const response = await dealai('POST', '/users', {
      firstName: 'Ann',
      email: uniqueEmail(),
      role: '',
      sendInviteEmail: 'no',
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ role: null });
  });

  it('answers 409 for an existing email, whatever its case', async () => {
    const email = uniqueEmail();
    expect((await dealai('POST', '/users', { firstName: 'A', email })).status).toBe(200);
    const again = await dealai('POST', '/users', {
      firstName: 'B',
      email: ` ${email.toUpperCase()}`,
    });
    expectError(again, 409, 'User already exists');
  });

  it.each([
    ['missing firstName', { email: 'x1@example.com' }, 'firstName is required'],
    ['blank firstName', { firstName: '   ', email: 'x2@example.com' }, 'firstName is required'],
    [
      'non-string firstName',
      { firstName: 7, email: 'x3@example.com' },
      'firstName must be a string',
    ],
    ['missing email', { firstName: 'A' }, 'email is required'],
    ['blank email', { firstName: 'A', email: ' ' }, 'email is required'],
    ['non-string email', { firstName: 'A', email: 42 }, 'email must be a valid email address'],
    [
      'invalid email',
      { firstName: 'A', email: 'not-an-email' },
      'email must be a valid email address',
    ],
    [
      'email without domain dot',
      { firstName: 'A', email: 'a@b' },
      'email must be a valid email address',
    ],
    [
      'boolean sendInviteEmail',
      { firstName: 'A', email: 'x4@example.com', sendInviteEmail: true },
      'sendInviteEmail must be "yes" or "no"',
    ],
    [
      'upper-case sendInviteEmail',
      { firstName: 'A', email: 'x5@example.com', sendInviteEmail: 'YES' },
      'sendInviteEmail must be "yes" or "no"',
    ],
    [
      'unknown role',
      { firstName: 'A', email: 'x6@example.com', role: 'Gold Plan' },
      'Role "Gold Plan" is not configured on this site',
    ],
    [
      'non-string role',
      { firstName: 'A', email: 'x7@example.com', role: 3 },
      'role must be a string',
    ],
    [
      'non-string password',
      { firstName: 'A', email: 'x8@example.com', password: 1234 },
      'password must be a string',
    ],
    [
      'non-string lastName',
      { firstName: 'A', email: 'x9@example.com', lastName: false },
      'lastName must be a string',
    ],
    [
      'firstName over 255 characters',
      { firstName: 'é'.repeat(256), email: 'x10@example.com' },
      'firstName must be no more than 255 characters',
    ],
  ])('answers 422 for %s', async (_case, body, message) => {
    const response = await dealai('POST', '/users', body);
    expectError(response, 422, message);
  });

  it('answers 422 when the body is not a JSON object', async () => {
    const response = await dealai('POST', '/users', ['firstName', 'email']);
    expectError(response, 422, 'Request body must be a JSON object');
  });

  it('treats a request without a body as an empty object', async () => {
    const response = await raw('POST', '/users', { headers: DEALAI_AUTH });
    expectError(response, 422, 'firstName is required');
  });

  it('counts the 255-character email limit in characters, not bytes', async () => {
    const longest = multiByteEmail(255);
    expect(Array.from(longest)).toHaveLength(255);
    expect(Buffer.byteLength(longest)).toBeGreaterThan(255);
    expect(longest.length).toBeGreaterThan(255);

    const accepted = await dealai('POST', '/users', { firstName: 'Long', email: longest });
    expect(accepted.status).toBe(200);
    expect(accepted.json()).toMatchObject({ email: longest.toLowerCase() });

    const rejected = await dealai('POST', '/users', {
      firstName: 'Long',
      email: multiByteEmail(256),
    });
    expectError(rejected, 422, 'email must be no more than 255 characters');
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await raw('POST', '/users', {
      headers: DEALAI_AUTH,
      rawBody: '{"firstName": "A", "email": ',
    });
    expectError(response, 400, 'Request body is not valid JSON');
  });
});

describe('Deal.ai sandbox: DELETE /users', () => {
  it('removes a user (matched case-insensitively) and answers 200', async () => {
    const email = uniqueEmail();
    await dealai('POST', '/users', { firstName: 'Del', email });
    const response = await dealai('DELETE', '/users', { email: `  ${email.toUpperCase()} ` });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ message: 'User removed', email });

    const again = await dealai('DELETE', '/users', { email });
    expectError(again, 404, 'User not found');

    const readded = await dealai('POST', '/users', { firstName: 'Del', email });
    expect(readded.status).toBe(200);
  });

  it('answers 404 for an unknown user', async () => {
    expectError(await dealai('DELETE', '/users', { email: uniqueEmail() }), 404, 'User not found');
  });

  it('answers 422 without an email', async () => {
    expectError(await dealai('DELETE', '/users', {}), 422, 'email is required');
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await raw('DELETE', '/users', { headers: DEALAI_AUTH, rawBody: '{email}' });
    expectError(response, 400, 'Request body is not valid JSON');
  });
});

describe('Deal.ai sandbox: PATCH /users/role', () => {
  it('sets a role and answers 200', async () => {
    const email = uniqueEmail();
    await dealai('POST', '/users', { firstName: 'Rol', email, role: 'Basic Plan' });
    const response = await dealai('PATCH', '/users/role', {
      email: email.toUpperCase(),
      role: 'Premium Plan',
    });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ message: 'Role updated', email, role: 'Premium Plan' });
  });

  it.each([
    ['an empty role', { role: '' }],
    ['a blank role', { role: '   ' }],
    ['a null role', { role: null }],
    ['no role', {}],
  ])('clears the role (Default Role) for %s', async (_case, roleField) => {
    const email = uniqueEmail();
    await dealai('POST', '/users', { firstName: 'Rol', email, role: 'Premium Plan' });
    const response = await dealai('PATCH', '/users/role', { email, ...roleField });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ message: 'Role updated', email, role: null });
  });

  it('answers 404 for an unknown user', async () => {
    const response = await dealai('PATCH', '/users/role', {
      email: uniqueEmail(),
      role: 'Basic Plan',
    });
    expectError(response, 404, 'User not found');
  });

  it('answers 422 for an unknown role, naming it', async () => {
    const email = uniqueEmail();
    await dealai('POST', '/users', { firstName: 'Rol', email });
    const response = await dealai('PATCH', '/users/role', { email, role: 'premium plan' });
    expectError(response, 422, 'Role "premium plan" is not configured on this site');
  });

  it('answers 422 (not 401/403) for a valid key and an empty body, as the connection test expects', async () => {
    const response = await dealai('PATCH', '/users/role', {});
    expectError(response, 422, 'email is required');
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await raw('PATCH', '/users/role', { headers: DEALAI_AUTH, rawBody: 'nope' });
    expectError(response, 400, 'Request body is not valid JSON');
  });
});

describe('Deal.ai sandbox: other routes', () => {
  it('answers 404 as a router does for unknown routes, before authentication', async () => {
    expectError(await dealai('GET', '/users'), 404, 'Not Found');
    expectError(await dealai('POST', '/roles', {}), 404, 'Not Found');
    const unauthenticated = await call(sandbox.dealaiBaseUrl, 'PATCH', '/user/role', { body: {} });
    expectError(unauthenticated, 404, 'Not Found');
  });

  it('keeps its users apart from the admin accounts', async () => {
    const email = uniqueEmail();
    await dealai('POST', '/users', { firstName: 'Sep', email });
    const admin = await call(sandbox.adminBaseUrl, 'GET', `/users?email=${email}`, {
      headers: { Authorization: 'Bearer sandbox-admin-token' },
    });
    expect(admin.json()).toEqual([]);
  });
});
