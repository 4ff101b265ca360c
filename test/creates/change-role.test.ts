import App from '../../index';
import { adminAuth, dealai, dealaiAuth, failure, messageOf, run, unmatched } from '../helpers';

const changeRole = App.creates.change_role;

describe('Change Role', () => {
  it('sets the role and returns the email as the API recorded it', async () => {
    dealai()
      .patch('/users/role', { email: 'Jane@Example.com', role: 'Basic Plan' })
      .reply(200, { email: 'jane@example.com', role: 'Basic Plan' });

    const result = await run(changeRole, dealaiAuth, {
      email: 'Jane@Example.com',
      role: ' Basic Plan ',
    });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'jane@example.com',
      role: 'Basic Plan',
      roleCleared: false,
      stale: false,
      staleNote: null,
    });
  });

  it('clears the role only when Clear Role When Empty is set, sending no role at all', async () => {
    dealai().patch('/users/role', { email: 'a@b.co' }).reply(200, '');

    const result = await run(changeRole, dealaiAuth, { email: 'a@b.co', clearRole: 'true' });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'a@b.co',
      role: null,
      roleCleared: true,
      stale: false,
      staleNote: null,
    });
  });

  it('sets a given role even when Clear Role When Empty is set', async () => {
    dealai().patch('/users/role', { email: 'a@b.co', role: 'Premium Plan' }).reply(200, {});

    const result = await run(changeRole, dealaiAuth, {
      email: 'a@b.co',
      role: 'Premium Plan',
      clearRole: true,
    });

    expect(result).toEqual({
      provider: 'dealai',
      email: 'a@b.co',
      role: 'Premium Plan',
      roleCleared: false,
      stale: false,
      staleNote: null,
    });
  });

  it('halts with the API words when the user does not exist', async () => {
    dealai().patch('/users/role').reply(404, { message: 'User not found' });

    const error = await failure(run(changeRole, dealaiAuth, { email: 'a@b.co', role: 'X' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Deal.ai White Label found no such account (HTTP 404): User not found. If the user does exist, check the connection's Base URL.",
    );
  });

  it('fails before any request on the Administration API, naming the provider that supports it', async () => {
    const error = await failure(run(changeRole, adminAuth, { email: 'a@b.co', role: 'X' }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Change Role works only with a Deal.ai White Label connection; this connection uses the Administration API, which offers New User, Credits Running Low, Add User, Provision Credits, Remove User, Find User and Find Usage. Use one of those, remove this step, or choose a Deal.ai White Label connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});
