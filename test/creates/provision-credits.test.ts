import App from '../../index';
import { admin, adminAuth, dealaiAuth, failure, messageOf, run, unmatched } from '../helpers';

const provision = App.creates.provision_credits;
const email = 'jane@example.com';

describe('Provision Credits, Add mode', () => {
  it('grants the credits in one request when the account exists', async () => {
    admin().patch('/users', { email, amount: 500 }).reply(200, { email, credits: 1500 });

    const result = await run(provision, adminAuth, { email, credits: 500, mode: 'add' });

    expect(result).toEqual({
      email,
      credits: 1500,
      granted: 500,
      created: false,
      mode: 'add',
      replayed: false,
      replayNote: null,
    });
  });

  it('creates a missing account with the credits', async () => {
    admin().patch('/users', { email, amount: 500 }).reply(404, 'Email is nonexistent');
    admin()
      .post('/users', { email, credits: 500 })
      .reply(201, { email, token: 'a1-new', credits: 500 });

    const result = await run(provision, adminAuth, { email, credits: '500', mode: 'add' });

    expect(result).toEqual({
      email,
      credits: 500,
      granted: 500,
      created: true,
      mode: 'add',
      replayed: false,
      replayNote: null,
    });
  });

  it('reads a 201 without credits as the credits it created the account with', async () => {
    admin().patch('/users', { email, amount: 1000 }).reply(404, 'Email is nonexistent');
    admin().post('/users', { email, credits: 1000 }).reply(201, { email, token: 'a1-new' });

    const result = await run(provision, adminAuth, { email, credits: '1,000', mode: 'add' });

    expect(result).toEqual({
      email,
      credits: 1000,
      granted: 1000,
      created: true,
      mode: 'add',
      replayed: false,
      replayNote: null,
    });
  });

  it('grants to an account created by someone else between its two requests', async () => {
    admin().patch('/users', { email, amount: 5 }).reply(404, 'Email is nonexistent');
    admin().post('/users', { email, credits: 5 }).reply(409, 'Email already exists');
    admin().patch('/users', { email, amount: 5 }).reply(200, { email, credits: 7 });

    const result = await run(provision, adminAuth, { email, credits: 5, mode: 'add' });

    expect(result).toEqual({
      email,
      credits: 7,
      granted: 5,
      created: false,
      mode: 'add',
      replayed: false,
      replayNote: null,
    });
  });
});

describe('Provision Credits, Top Up mode', () => {
  it('changes nothing when the balance is already high enough', async () => {
    admin()
      .get('/users')
      .query({ email })
      .reply(200, [{ email, credits: 2000 }]);

    const result = await run(provision, adminAuth, { email, credits: 1000, mode: 'atLeast' });

    expect(result).toEqual({
      email,
      credits: 2000,
      granted: 0,
      created: false,
      mode: 'atLeast',
      replayed: false,
      replayNote: null,
    });
  });

  it('grants only the difference when the balance is lower', async () => {
    admin()
      .get('/users')
      .query({ email })
      .reply(200, [{ email, credits: 300 }]);
    admin().patch('/users', { email, amount: 700 }).reply(200, { email, credits: 1000 });

    const result = await run(provision, adminAuth, { email, credits: 1000, mode: 'atLeast' });

    expect(result).toEqual({
      email,
      credits: 1000,
      granted: 700,
      created: false,
      mode: 'atLeast',
      replayed: false,
      replayNote: null,
    });
  });

  it('creates a missing account with the target balance', async () => {
    admin().get('/users').query({ email }).reply(200, []);
    admin()
      .post('/users', { email, credits: 1000 })
      .reply(201, { email, token: 't', credits: 1000 });

    const result = await run(provision, adminAuth, { email, credits: 1000, mode: 'atLeast' });

    expect(result).toEqual({
      email,
      credits: 1000,
      granted: 1000,
      created: true,
      mode: 'atLeast',
      replayed: false,
      replayNote: null,
    });
  });

  it('reads the balance again when the account appears between lookup and create', async () => {
    admin().get('/users').query({ email }).reply(200, []);
    admin().post('/users', { email, credits: 100 }).reply(409, 'Email already exists');
    admin()
      .get('/users')
      .query({ email })
      .reply(200, [{ email, credits: 40 }]);
    admin().patch('/users', { email, amount: 60 }).reply(200, { email, credits: 100 });

    const result = await run(provision, adminAuth, { email, credits: 100, mode: 'atLeast' });

    expect(result).toEqual({
      email,
      credits: 100,
      granted: 60,
      created: false,
      mode: 'atLeast',
      replayed: false,
      replayNote: null,
    });
  });
});

describe('Provision Credits on a connection without credits', () => {
  it('fails before any request on Deal.ai, which has no credits', async () => {
    const error = await failure(run(provision, dealaiAuth, { email, credits: 5, mode: 'add' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Provision Credits works only with an Administration API connection; this connection uses the Deal.ai White Label, which offers Add User, Change Role and Remove User. Use one of those, remove this step, or choose an Administration API connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});

describe('Provision Credits when the answer to a grant is lost', () => {
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  it('stops the run in Add mode, where a replay would grant again', async () => {
    admin().patch('/users', { email, amount: 5 }).replyWithError(reset());

    const error = await failure(run(provision, adminAuth, { email, credits: 5, mode: 'add' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Administration API at api.agentfirst.dev dropped the connection (ECONNRESET), so the change may or may not have been applied. Check the account before replaying this step, so that nothing is done twice.',
    );
  });

  it('fails as an error Zapier may replay in Top Up mode, which reads the balance again first', async () => {
    admin()
      .get('/users')
      .query({ email })
      .reply(200, [{ email, credits: 1 }]);
    admin().patch('/users', { email, amount: 4 }).replyWithError(reset());

    const error = await failure(run(provision, adminAuth, { email, credits: 5, mode: 'atLeast' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Administration API at api.agentfirst.dev dropped the connection (ECONNRESET). Check the connection's Base URL, or try again later.",
    );
  });
});
