import App from '../../index';
import { admin, adminAuth, dealaiAuth, failure, messageOf, run, unmatched } from '../helpers';

const findUser = App.searches.find_user;

describe('Find User', () => {
  it('looks the email up and returns the account with its credits', async () => {
    admin()
      .get('/users')
      .query({ email: 'Jane@Example.com' })
      .reply(200, [{ email: 'jane@example.com', credits: 250 }]);

    const result = await run(findUser, adminAuth, { email: ' Jane@Example.com ' });

    expect(result).toEqual([{ email: 'jane@example.com', credits: 250 }]);
  });

  it('returns an empty list, not an error, when nobody has the email', async () => {
    admin().get('/users').query({ email: 'nobody@example.com' }).reply(200, []);

    const result = await run(findUser, adminAuth, { email: 'nobody@example.com' });

    expect(result).toEqual([]);
  });

  it('matches the address whatever its case, among the accounts the API returns', async () => {
    admin()
      .get('/users')
      .query({ email: 'JANE.DOE@example.COM' })
      .reply(200, [
        { email: 'jane.doe@example.co', credits: 1 },
        { email: 'jane.doe@example.com', credits: 7 },
      ]);

    const result = await run(findUser, adminAuth, { email: 'JANE.DOE@example.COM' });

    expect(result).toEqual([{ email: 'jane.doe@example.com', credits: 7 }]);
  });

  it('finds nothing when only a similar address comes back', async () => {
    admin()
      .get('/users')
      .query({ email: 'jane.doe@example.co' })
      .reply(200, [{ email: 'jane.doe@example.com', credits: 7 }]);

    expect(await run(findUser, adminAuth, { email: 'jane.doe@example.co' })).toEqual([]);
  });

  it('ignores accounts the API returns for other addresses', async () => {
    admin()
      .get('/users')
      .query({ email: 'a@b.co' })
      .reply(200, [{ email: 'someone@else.co', credits: 1 }]);

    const result = await run(findUser, adminAuth, { email: 'a@b.co' });

    expect(result).toEqual([]);
  });

  it('reports an answer that is not a list of accounts', async () => {
    admin().get('/users').query({ email: 'a@b.co' }).reply(200, { email: 'a@b.co' });

    const error = await failure(run(findUser, adminAuth, { email: 'a@b.co' }));

    expect(messageOf(error)).toBe(
      "The Administration API answered without a list of accounts (email and credits), which its documentation promises. Check the connection's Base URL.",
    );
  });

  it('fails before any request on Deal.ai, which has no lookup route', async () => {
    const error = await failure(run(findUser, dealaiAuth, { email: 'a@b.co' }));

    expect(messageOf(error)).toBe(
      'Find User works only with an Administration API connection; this connection uses the Deal.ai White Label, which offers Add User, Change Role and Remove User. Use one of those, remove this step, or choose an Administration API connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});
