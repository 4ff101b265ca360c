import nock from 'nock';

import App from '../index';
import {
  ADMIN_KEY,
  DEALAI_KEY,
  admin,
  adminAuth,
  inApp,
  callable,
  dealai,
  dealaiAuth,
  dealaiWithInvalidKey,
  failure,
  messageOf,
  payloadOf,
  unmatched,
} from './helpers';

const testConnection = (authData: Record<string, string>) =>
  inApp(callable(App.authentication?.test), { authData });

describe('connection test on the Administration API', () => {
  it('reads the own account and labels the connection with its email', async () => {
    admin()
      .get('/user')
      .reply(200, [{ email: 'owner@reseller.com', credits: 90 }]);

    const result = await testConnection(adminAuth);

    expect(result).toEqual({
      provider: 'admin',
      host: 'api.agentfirst.dev',
      email: 'owner@reseller.com',
      label: 'owner@reseller.com',
    });
    expect(App.authentication?.connectionLabel).toBe('{{label}}');
  });

  it('asks for a new key on 403, in the API words', async () => {
    admin().get('/user').reply(403, 'Valid API token must be provided');

    const error = await failure(testConnection(adminAuth));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).toBe(
      'Administration API rejected the API key (HTTP 403): Valid API token must be provided. Edit the connection in Zapier (My Apps) and reconnect.',
    );
  });

  it('uses a Base URL override, allowing plain http on loopback', async () => {
    nock('http://127.0.0.1:4010', { reqheaders: { authorization: `Bearer ${ADMIN_KEY}` } })
      .get('/user')
      .reply(200, [{ email: 'owner@sandbox.test', credits: 1 }]);

    const result = await testConnection({ ...adminAuth, baseUrl: ' http://127.0.0.1:4010/ ' });

    expect(result).toMatchObject({ host: '127.0.0.1:4010', label: 'owner@sandbox.test' });
  });
});

describe('connection test on Deal.ai', () => {
  const label = 'Deal.ai White Label (api.marketing.deal.ai)';
  const base = 'https://api.marketing.deal.ai/api/2024-01/whitelabel';
  const wrong = (what: string) =>
    `The Base URL ${base} does not reach the Deal.ai White Label API: it ${what} Check the connection's Base URL. Edit the connection in Zapier (My Apps) and reconnect.`;

  it('proves the key with an empty role change refused for its body, and refused for a key that cannot be valid', async () => {
    dealai().patch('/users/role', {}).reply(422, { error: 'email is required' });
    dealaiWithInvalidKey().patch('/users/role', {}).reply(403, { error: 'Invalid API key' });

    const result = await testConnection(dealaiAuth);

    expect(result).toEqual({
      provider: 'dealai',
      host: 'api.marketing.deal.ai',
      email: null,
      label,
    });
    expect(unmatched).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });

  it.each([400, 409])(
    'takes a %i to the empty body as a key the API accepted, once an invalid key gets a 401',
    async (status) => {
      dealai().patch('/users/role', {}).reply(status, { error: 'nope' });
      dealaiWithInvalidKey().patch('/users/role', {}).reply(401, { error: 'key required' });

      await expect(testConnection(dealaiAuth)).resolves.toMatchObject({ provider: 'dealai' });
    },
  );

  it('takes a 404 to the empty body as the API looking up nobody, once an invalid key gets a 403', async () => {
    dealai().patch('/users/role', {}).reply(404, { error: 'User not found' });
    dealaiWithInvalidKey().patch('/users/role', {}).reply(403, { error: 'Invalid API key' });

    await expect(testConnection(dealaiAuth)).resolves.toMatchObject({ provider: 'dealai', label });
  });

  it("fails on a router's 404 on every path: the same 404 for a key that cannot be valid", async () => {
    const notFound = [
      404,
      JSON.stringify({ error: 'Not Found' }),
      { 'Content-Type': 'application/json' },
    ] as const;
    dealai()
      .patch('/users/role', {})
      .reply(...notFound);
    dealaiWithInvalidKey()
      .patch('/users/role', {})
      .reply(...notFound);

    const error = await failure(testConnection(dealaiAuth));

    expect(payloadOf(error)).toEqual({
      code: 'WrongBaseUrl',
      message: wrong(
        'does not check keys: it answered HTTP 404 (application/json): Not Found. With a key that cannot be valid it answered HTTP 404 (application/json): Not Found.',
      ),
    });
  });

  it.each([
    [
      'a 405 Method Not Allowed',
      405,
      'Method Not Allowed',
      'text/plain',
      'answered HTTP 405 (text/plain): Method Not Allowed.',
    ],
    [
      'a catch-all 200',
      200,
      JSON.stringify({ ok: true }),
      'application/json',
      'accepted a request that names no user, which the API refuses: HTTP 200 (application/json): {"ok":true}.',
    ],
  ])(
    'fails on %s, naming the Base URL and the answer',
    async (_title, status, body, type, what) => {
      dealai().patch('/users/role', {}).reply(status, body, { 'Content-Type': type });

      const error = await failure(testConnection(dealaiAuth));

      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toEqual({ code: 'WrongBaseUrl', message: wrong(what) });
    },
  );

  it('fails when a key that cannot be valid gets the same answer: nothing checks keys there', async () => {
    dealai().patch('/users/role', {}).reply(422, { error: 'Unprocessable' });
    dealaiWithInvalidKey().patch('/users/role', {}).reply(422, { error: 'Unprocessable' });

    const error = await failure(testConnection(dealaiAuth));

    expect(payloadOf(error)).toEqual({
      code: 'WrongBaseUrl',
      message: wrong(
        'does not check keys: it answered HTTP 422 (application/json): Unprocessable. With a key that cannot be valid it answered HTTP 422 (application/json): Unprocessable.',
      ),
    });
  });

  it('fails on a web page, naming the Base URL', async () => {
    dealai()
      .patch('/users/role', {})
      .reply(200, '<!doctype html><title>Home</title>', { 'Content-Type': 'text/html' });

    const error = await failure(testConnection(dealaiAuth));

    expect(messageOf(error)).toBe(
      `Deal.ai White Label answered with a web page instead of the API (HTTP 200) at ${base}. Check the connection's Base URL.`,
    );
  });

  it.each([401, 403])('takes a %i as a bad key', async (status) => {
    dealai().patch('/users/role', {}).reply(status, { message: 'Invalid API key' });

    const error = await failure(testConnection(dealaiAuth));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).toBe(
      `Deal.ai White Label rejected the API key (HTTP ${status}): Invalid API key. Check that the API is enabled in White Label Settings. Edit the connection in Zapier (My Apps) and reconnect.`,
    );
  });

  it('fails on a server error instead of calling the key good', async () => {
    dealai().patch('/users/role', {}).reply(500, 'boom');

    const error = await failure(testConnection(dealaiAuth));

    expect(messageOf(error)).toBe(
      'Deal.ai White Label failed on its side (HTTP 500): boom. Try again later.',
    );
  });

  it('is throttled, not passed, when the check with an invalid key is rate limited', async () => {
    dealai().patch('/users/role', {}).reply(422, { error: 'email is required' });
    dealaiWithInvalidKey()
      .patch('/users/role', {})
      .reply(429, { error: 'slow down' }, { 'Retry-After': '9' });

    const error = await failure(testConnection(dealaiAuth));

    expect(error.name).toBe('ThrottledError');
  });
});

describe('connection test on the Administration API: the answer must be the account', () => {
  const wrong = (what: string) =>
    `The Base URL https://api.agentfirst.dev does not reach the Administration API: ${what} Check the connection's Base URL.`;

  it.each([
    ['a catch-all JSON 200', { ok: true }, '{"ok":true}'],
    ['an empty list', [], '[]'],
    ['an account without credits', [{ email: 'a@b.co' }], '[{"email":"a@b.co"}]'],
  ])('fails on %s, quoting it', async (_title, body, quoted) => {
    admin().get('/user').reply(200, body);

    const error = await failure(testConnection(adminAuth));

    expect(payloadOf(error)).toEqual({
      code: 'WrongBaseUrl',
      message: wrong(
        `GET /user answered ${quoted}, not the token's own account (its email and credits).`,
      ),
    });
  });

  it.each([
    ['a router 404', 404, JSON.stringify({ error: 'Not Found' }), 'application/json'],
    ['a plain 404', 404, 'Not Found', 'text/plain'],
    ['a 405', 405, 'Method Not Allowed', 'text/plain'],
  ])('fails on %s, naming the Base URL', async (_title, status, body, type) => {
    admin().get('/user').reply(status, body, { 'Content-Type': type });

    const error = await failure(testConnection(adminAuth));

    expect(payloadOf(error)).toMatchObject({ code: 'WrongBaseUrl' });
    expect(messageOf(error)).toMatch(
      /^The Base URL https:\/\/api\.agentfirst\.dev does not reach the Administration API: it answered HTTP 40[45] /,
    );
  });
});

describe('connection fields', () => {
  it.each([
    [
      'ftp://example.com',
      'must start with https:// (plain http:// only for localhost), not "ftp://"',
    ],
    [
      'http://api.example.com',
      'must start with https:// (plain http:// only for localhost), not "http://"',
    ],
    ['not a url', 'is not a URL'],
    ['https://user:pw@example.com', 'must not contain credentials, a query or a fragment'],
  ])('rejects the Base URL %p before any request', async (baseUrl, reason) => {
    const error = await failure(testConnection({ ...dealaiAuth, baseUrl }));

    expect(messageOf(error)).toContain(reason);
    expect(unmatched).toEqual([]);
  });

  it('rejects an unknown provider', async () => {
    const error = await failure(testConnection({ provider: 'other', apiKey: 'k' }));

    expect(messageOf(error)).toBe(
      'The connection has no known API Provider ("other"). Edit the connection in Zapier (My Apps) and reconnect.',
    );
  });

  it('rejects a key pasted with a line break, which would escape log scrubbing', async () => {
    const error = await failure(testConnection({ ...dealaiAuth, apiKey: `${DEALAI_KEY}\n` }));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).not.toContain(DEALAI_KEY);
    expect(unmatched).toEqual([]);
  });

  it('rejects an empty key', async () => {
    const error = await failure(testConnection({ ...adminAuth, apiKey: '  ' }));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).toBe(
      'The connection has no API key. Edit the connection in Zapier (My Apps) and reconnect.',
    );
  });

  it('asks for a link to where each provider shows its key', () => {
    const apiKey = App.authentication?.fields?.find((field) => field.key === 'apiKey');

    expect(apiKey?.type).toBe('password');
    expect(apiKey?.helpText).toMatch(/\]\(https:\/\/marketing\.deal\.ai\)/);
    expect(apiKey?.helpText).toMatch(/\]\(https:\/\/agentfirst\.dev\)/);
  });
});
