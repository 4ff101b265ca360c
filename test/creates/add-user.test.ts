import App from '../../index';
import {
  admin,
  adminAuth,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  payloadOf,
  run,
  unmatched,
} from '../helpers';

const addUser = App.creates.add_user;

describe('Add User on Deal.ai', () => {
  it('sends the profile with the invite as "yes" and merges the answer over what was sent', async () => {
    dealai()
      .post('/users', {
        firstName: 'Jane',
        lastName: 'Doe',
        email: 'Jane.Doe@Example.com',
        password: 'correct horse',
        sendInviteEmail: 'yes',
        role: 'Premium Plan',
      })
      .reply(200, { message: 'User added', email: 'jane.doe@example.com' });

    const result = await run(addUser, dealaiAuth, {
      firstName: ' Jane ',
      lastName: 'Doe',
      email: '  Jane.Doe@Example.com ',
      password: 'correct horse',
      sendInviteEmail: true,
      role: 'Premium Plan',
    });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'jane.doe@example.com',
      firstName: 'Jane',
      lastName: 'Doe',
      role: 'Premium Plan',
      inviteSent: true,
      replayed: false,
      replayNote: null,
      stale: false,
      staleNote: null,
    });
  });

  it('leaves empty optional fields out of the body and sends the invite as "no"', async () => {
    dealai()
      .post('/users', { firstName: 'Jane', email: 'jane@example.com', sendInviteEmail: 'no' })
      .reply(200, '');

    const result = await run(addUser, dealaiAuth, {
      firstName: 'Jane',
      lastName: '  ',
      email: 'jane@example.com',
      password: '   ',
      sendInviteEmail: 'false',
      role: '',
      credits: '',
    });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'jane@example.com',
      firstName: 'Jane',
      lastName: null,
      role: null,
      inviteSent: false,
      replayed: false,
      replayNote: null,
      stale: false,
      staleNote: null,
    });
  });

  it('never returns the password, even when the API echoes it', async () => {
    dealai()
      .post('/users')
      .reply(200, { email: 'jane@example.com', password: 'hunter22', firstName: 'Jane' });

    const result = await run(addUser, dealaiAuth, {
      firstName: 'Jane',
      email: 'jane@example.com',
      password: 'hunter22',
    });

    expect(JSON.stringify(result)).not.toContain('hunter22');
  });

  it('stops before any request when First Name is empty', async () => {
    const error = await failure(run(addUser, dealaiAuth, { firstName: ' ', email: 'a@b.co' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe('First Name: is empty, and Deal.ai White Label requires it.');
    expect(unmatched).toEqual([]);
  });

  it('refuses Starting Credits, which Deal.ai cannot store', async () => {
    const error = await failure(
      run(addUser, dealaiAuth, { firstName: 'Jane', email: 'a@b.co', credits: 10 }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(
      /^Starting Credits: only the Administration API stores credits/,
    );
  });

  it("reports an existing user in the API's own words and halts", async () => {
    dealai().post('/users').reply(409, { error: 'User already exists' });

    const error = await failure(run(addUser, dealaiAuth, { firstName: 'Jane', email: 'a@b.co' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Deal.ai White Label says the account already exists (HTTP 409): User already exists',
    );
  });
});

describe('Add User on the Administration API', () => {
  it('creates the account with starting credits and returns its token', async () => {
    admin()
      .post('/users', { email: 'Jane@Example.com', credits: 1000 })
      .reply(201, { email: 'jane@example.com', token: 'a1-newUserToken', credits: 1000 });

    const result = await run(addUser, adminAuth, { email: 'Jane@Example.com', credits: '1000' });

    expect(result).toEqual({
      provider: 'admin',
      email: 'jane@example.com',
      credits: 1000,
      token: 'a1-newUserToken',
      replayed: false,
      replayNote: null,
      stale: false,
      staleNote: null,
    });
  });

  it.each([
    ['firstName', 'First Name', 'Jane'],
    ['lastName', 'Last Name', 'Doe'],
    ['password', 'Password', 'secret'],
    ['role', 'Role', 'Premium Plan'],
  ])('refuses %s, which the Administration API does not store', async (key, label, value) => {
    const error = await failure(run(addUser, adminAuth, { email: 'a@b.co', [key]: value }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `${label}: is not stored by the Administration API; leave it empty on this connection.`,
    );
    expect(unmatched).toEqual([]);
  });

  it('refuses an invitation it cannot send', async () => {
    const error = await failure(
      run(addUser, adminAuth, { email: 'a@b.co', sendInviteEmail: 'yes' }),
    );

    expect(messageOf(error)).toBe(
      'Send Invite Email: the Administration API sends no invitations; set it to no.',
    );
  });

  it.each([
    ['the credits it sent', '2,500', { email: 'jane@example.com', credits: 2500 }, 2500],
    ['0 when it sent none', '', { email: 'jane@example.com' }, 0],
  ])(
    'reads a 201 without credits as %s (the API returns "any credits")',
    async (_title, credits, body, expected) => {
      admin().post('/users', body).reply(201, { email: 'jane@example.com', token: 't' });

      const result = await run(addUser, adminAuth, { email: 'jane@example.com', credits });

      expect(result).toMatchObject({ credits: expected, token: 't' });
    },
  );

  it('reports a 201 without a token instead of returning half an account', async () => {
    admin().post('/users').reply(201, { email: 'a@b.co', credits: 0 });

    const error = await failure(run(addUser, adminAuth, { email: 'a@b.co' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "The Administration API answered without the new account's token, which its documentation promises. Check the connection's Base URL.",
    );
  });
});

describe('Add User: what an existing account and a missing route mean', () => {
  it('fails on an existing account (409) with an error the owner sees: the step set nothing', async () => {
    admin().post('/users').reply(409, 'Email already exists', { 'Content-Type': 'text/plain' });

    const error = await failure(run(addUser, adminAuth, { email: 'a@b.co', credits: '100' }));

    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toEqual({
      code: 'ApiClientError',
      status: 409,
      message:
        'Administration API says the account already exists (HTTP 409): Email already exists',
    });
  });

  it.each([
    [
      'the Administration API',
      adminAuth,
      admin,
      'https://api.agentfirst.dev',
      'Administration API',
    ],
    [
      'Deal.ai',
      dealaiAuth,
      dealai,
      'https://api.marketing.deal.ai/api/2024-01/whitelabel',
      'Deal.ai White Label API',
    ],
  ] as const)(
    'takes a 404 on %s as a wrong Base URL, not as "no such account"',
    async (_title, auth, scope, base, api) => {
      scope().post('/users').reply(404, 'Not Found', { 'Content-Type': 'text/plain' });

      const input = auth === dealaiAuth ? { email: 'a@b.co', firstName: 'A' } : { email: 'a@b.co' };
      const error = await failure(run(addUser, auth, input));

      expect(payloadOf(error)).toEqual({
        code: 'WrongBaseUrl',
        message: `The Base URL ${base} does not reach the ${api}: it answered HTTP 404 (text/plain): Not Found. Check the connection's Base URL. Edit the connection in Zapier (My Apps) and reconnect.`,
      });
    },
  );
});
