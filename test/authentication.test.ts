import nock from 'nock';

import App from '../index';
import {
  ADMIN_KEY,
  DEALAI_KEY,
  admin,
  adminAuth,
  appTester,
  callable,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  unmatched,
} from './helpers';

const testConnection = (authData: Record<string, string>) =>
  appTester(callable(App.authentication?.test), { authData });

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
  it('proves the key with an empty role change that the API refuses for its body', async () => {
    dealai().patch('/users/role', {}).reply(422, { error: 'email is required' });

    const result = await testConnection(dealaiAuth);

    expect(result).toEqual({
      provider: 'dealai',
      host: 'api.marketing.deal.ai',
      email: null,
      label: 'Deal.ai White Label (api.marketing.deal.ai)',
    });
  });

  it.each([400, 404, 409])(
    'takes a %i to the empty body as a key the API accepted',
    async (status) => {
      dealai().patch('/users/role', {}).reply(status, { error: 'nope' });

      await expect(testConnection(dealaiAuth)).resolves.toMatchObject({ provider: 'dealai' });
    },
  );

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
