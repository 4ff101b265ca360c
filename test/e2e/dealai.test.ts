import App from '../../index';
import { failure, messageOf } from '../helpers';
import { invoke, useSandbox } from './setup';

const { dealai, sandbox } = useSandbox();
const email = 'Jane.Doe@Example.com';

describe('Deal.ai White Label, end to end', () => {
  it('connects with the key and labels the connection with the host', async () => {
    const result = await invoke(App.authentication?.test, dealai());

    expect(result).toEqual({
      provider: 'dealai',
      host: new URL(sandbox().url).host,
      email: null,
      label: `Deal.ai White Label (${new URL(sandbox().url).host})`,
    });
  });

  it('refuses a wrong key as one to replace (403)', async () => {
    const error = await failure(invoke(App.authentication?.test, { ...dealai(), apiKey: 'wrong' }));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).toMatch(
      /^Deal\.ai White Label rejected the API key \(HTTP 403\): Invalid API key\./,
    );
  });

  it('adds a user with a role and an invite, then halts on the same user (409)', async () => {
    const input = {
      firstName: 'Jane',
      lastName: 'Doe',
      email,
      sendInviteEmail: true,
      role: 'Basic Plan',
    };

    await expect(invoke(App.creates.add_user.operation.perform, dealai(), input)).resolves.toEqual({
      provider: 'dealai',
      email: 'jane.doe@example.com',
      firstName: 'Jane',
      lastName: 'Doe',
      role: 'Basic Plan',
      inviteSent: true,
      replayed: false,
      replayNote: null,
      stale: false,
      staleNote: null,
    });
    const error = await failure(invoke(App.creates.add_user.operation.perform, dealai(), input));
    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Deal.ai White Label says the account already exists (HTTP 409): User already exists',
    );
  });

  it('halts on a role the site does not have (422)', async () => {
    const error = await failure(
      invoke(App.creates.add_user.operation.perform, dealai(), {
        firstName: 'Sam',
        email: 'sam@example.com',
        role: 'Gold Plan',
      }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Deal.ai White Label rejected a value (HTTP 422): Role "Gold Plan" is not configured on this site',
    );
  });

  it('changes the role, then clears it', async () => {
    await expect(
      invoke(App.creates.change_role.operation.perform, dealai(), { email, role: 'Premium Plan' }),
    ).resolves.toMatchObject({ role: 'Premium Plan', roleCleared: false });
    await expect(
      invoke(App.creates.change_role.operation.perform, dealai(), { email, clearRole: 'yes' }),
    ).resolves.toMatchObject({ role: null, roleCleared: true });
  });

  it('halts on a role change for an unknown user (404)', async () => {
    const error = await failure(
      invoke(App.creates.change_role.operation.perform, dealai(), {
        email: 'nobody@example.com',
        role: 'Basic Plan',
      }),
    );

    expect(messageOf(error)).toBe(
      "Deal.ai White Label found no such account (HTTP 404): User not found. If the user does exist, check the connection's Base URL.",
    );
  });

  it('removes the user once; a second removal halts, or succeeds with nothing removed', async () => {
    await expect(
      invoke(App.creates.remove_user.operation.perform, dealai(), { email }),
    ).resolves.toMatchObject({ removed: true, email: 'jane.doe@example.com' });
    const error = await failure(
      invoke(App.creates.remove_user.operation.perform, dealai(), { email }),
    );
    expect(error.name).toBe('AppError');
    await expect(
      invoke(App.creates.remove_user.operation.perform, dealai(), { email, ignoreMissing: true }),
    ).resolves.toMatchObject({ removed: false });
  });

  it('refuses the admin-only actions before any request', async () => {
    const before = sandbox().requestCount();

    const error = await failure(
      invoke(App.searches.find_user.operation.perform, dealai(), { email }),
    );

    expect(messageOf(error)).toMatch(/^Find User works only with an Administration API connection/);
    expect(sandbox().requestCount()).toBe(before);
  });
});
