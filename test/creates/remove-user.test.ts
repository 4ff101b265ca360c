import App from '../../index';
import nock from 'nock';

import {
  admin,
  adminAuth,
  dealai,
  dealaiAuth,
  dealaiWithInvalidKey,
  failure,
  messageOf,
  payloadOf,
  run,
} from '../helpers';

const removeUser = App.creates.remove_user;

describe('Remove User on Deal.ai', () => {
  it('deletes the user by email', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(200, { message: 'User removed' });

    const result = await run(removeUser, dealaiAuth, { email: 'a@b.co' });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'a@b.co',
      removed: true,
      stale: false,
      staleNote: null,
    });
  });

  it('halts on a missing user unless Succeed If Already Gone is set', async () => {
    dealai().delete('/users').reply(404, { error: 'User not found' });

    const error = await failure(run(removeUser, dealaiAuth, { email: 'a@b.co' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Deal.ai White Label found no such account (HTTP 404): User not found. If the user does exist, check the connection's Base URL.",
    );
  });

  it('reports nothing removed on a missing user when Succeed If Already Gone is set, once the route proves it checks keys', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(404, { error: 'User not found' });
    dealaiWithInvalidKey()
      .delete('/users', { email: 'a@b.co' })
      .reply(403, { error: 'Invalid API key' });

    const result = await run(removeUser, dealaiAuth, { email: 'a@b.co', ignoreMissing: 'yes' });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'a@b.co',
      removed: false,
      stale: false,
      staleNote: null,
    });
    expect(nock.isDone()).toBe(true);
  });

  it("never reports a router's 404 as already gone: the same 404 for a key that cannot be valid", async () => {
    const notFound = [404, { error: 'Not Found' }] as const;
    dealai()
      .delete('/users')
      .reply(...notFound);
    dealaiWithInvalidKey()
      .delete('/users')
      .reply(...notFound);

    const error = await failure(
      run(removeUser, dealaiAuth, { email: 'a@b.co', ignoreMissing: 'yes' }),
    );

    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toEqual({
      code: 'WrongBaseUrl',
      message:
        "The Base URL https://api.marketing.deal.ai/api/2024-01/whitelabel does not reach the Deal.ai White Label API: it answered HTTP 404 (application/json): Not Found. With a key that cannot be valid it answered HTTP 404 (application/json): Not Found. The API checks the key first, so this answer came from something else, and nothing was done. Check the connection's Base URL. Edit the connection in Zapier (My Apps) and reconnect.",
    });
  });
});

describe('Remove User on the Administration API', () => {
  it('deactivates the account and returns its zeroed credits', async () => {
    admin()
      .delete('/users', { email: 'Jane@Example.com' })
      .reply(200, { email: 'jane@example.com', credits: 0 });

    const result = await run(removeUser, adminAuth, { email: 'Jane@Example.com' });

    expect(result).toEqual({
      provider: 'admin',
      email: 'jane@example.com',
      removed: true,
      credits: 0,
      stale: false,
      staleNote: null,
    });
  });

  it('reports nothing removed on a missing account when Succeed If Already Gone is set', async () => {
    admin().delete('/users').reply(404, 'Email is nonexistent', { 'Content-Type': 'text/plain' });

    const result = await run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: true });

    expect(result).toEqual({
      provider: 'admin',
      email: 'a@b.co',
      removed: false,
      credits: null,
      stale: false,
      staleNote: null,
    });
  });

  it.each([
    ['a router JSON 404', { error: 'Not Found' }, 'application/json'],
    ['a JSON 404 without a type', JSON.stringify({ message: 'Not Found' }), 'text/plain'],
  ])(
    'never reports %s as already gone: the API answers its 404 as text',
    async (_title, body, type) => {
      admin().delete('/users').reply(404, body, { 'Content-Type': type });

      const error = await failure(
        run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: 'yes' }),
      );

      expect(payloadOf(error)).toMatchObject({ code: 'WrongBaseUrl' });
      expect(messageOf(error)).toMatch(
        /^The Base URL https:\/\/api\.agentfirst\.dev does not reach the Administration API: it answered HTTP 404 .*Not Found\. The Administration API answers its errors as plain text, so this answer came from something else, and nothing was done\./,
      );
    },
  );

  it('names a wrong Base URL for a JSON 404 without Succeed If Already Gone too', async () => {
    admin().delete('/users').reply(404, { error: 'Not Found' });

    const error = await failure(run(removeUser, adminAuth, { email: 'a@b.co' }));

    expect(payloadOf(error)).toMatchObject({ code: 'WrongBaseUrl' });
  });

  it('still fails on other errors when Succeed If Already Gone is set', async () => {
    admin().delete('/users').reply(422, 'Character counts must be no more than 255');

    const error = await failure(
      run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: true }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): Character counts must be no more than 255',
    );
  });
});
