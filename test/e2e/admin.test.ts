import App from '../../index';
import { SANDBOX_OWNER_EMAIL } from '../../tools/sandbox/server';
import { failure, messageOf } from '../helpers';
import { invoke, useSandbox } from './setup';

const { admin, sandbox } = useSandbox();
const email = 'Jane.Doe@Example.com';
const { add_user: addUser, provision_credits: provision, remove_user: removeUser } = App.creates;
const findUser = App.searches.find_user;

/** Find or Add User as Zapier runs it: the search, then the create only when nothing was found. */
const findOrAdd = async (input: Record<string, unknown>) => {
  const found = await invoke(findUser.operation.perform, admin(), input);
  if (Array.isArray(found) && found.length > 0) {
    const user: unknown = found[0];
    return { found: true, user };
  }
  return { found: false, user: await invoke(addUser.operation.perform, admin(), input) };
};

describe('Administration API, end to end', () => {
  it('connects and labels the connection with the account email', async () => {
    await expect(invoke(App.authentication?.test, admin())).resolves.toMatchObject({
      provider: 'admin',
      label: SANDBOX_OWNER_EMAIL,
    });
  });

  it('refuses a wrong token as one to replace (403)', async () => {
    const error = await failure(invoke(App.authentication?.test, { ...admin(), apiKey: 'nope' }));

    expect(error.name).toBe('ExpiredAuthError');
    expect(messageOf(error)).toMatch(/\(HTTP 403\): Valid API token must be provided\./);
  });

  it('adds a user with starting credits and a fresh token; the same email again halts (409)', async () => {
    const result = await invoke(addUser.operation.perform, admin(), { email, credits: '100' });

    expect(result).toMatchObject({
      provider: 'admin',
      email: 'jane.doe@example.com',
      credits: 100,
    });
    expect(result).toHaveProperty('token', expect.stringMatching(/^\S{16,}$/));
    const error = await failure(invoke(addUser.operation.perform, admin(), { email }));
    expect(messageOf(error)).toBe(
      'Administration API says the account already exists (HTTP 409): Email already exists',
    );
  });

  it('finds the user whatever the case, and finds nobody for an unknown email', async () => {
    await expect(
      invoke(findUser.operation.perform, admin(), { email: email.toUpperCase() }),
    ).resolves.toEqual([{ email: 'jane.doe@example.com', credits: 100 }]);
    await expect(
      invoke(findUser.operation.perform, admin(), { email: 'nobody@example.com' }),
    ).resolves.toEqual([]);
  });

  it('Find or Add run twice creates one user', async () => {
    const first = await findOrAdd({ email: 'sam@example.com' });
    const second = await findOrAdd({ email: 'SAM@example.com' });

    expect(first).toMatchObject({ found: false, user: { email: 'sam@example.com' } });
    expect(second).toEqual({ found: true, user: { email: 'sam@example.com', credits: 0 } });
  });

  it('provisions credits: add, top up, top up again, and a new account', async () => {
    const run = (input: Record<string, unknown>) =>
      invoke(provision.operation.perform, admin(), { email, ...input });

    await expect(run({ credits: 50, mode: 'add' })).resolves.toMatchObject({
      credits: 150,
      granted: 50,
    });
    await expect(run({ credits: 400, mode: 'atLeast' })).resolves.toMatchObject({
      credits: 400,
      granted: 250,
    });
    const before = sandbox().requestCount();
    await expect(run({ credits: 400, mode: 'atLeast' })).resolves.toMatchObject({
      credits: 400,
      granted: 0,
    });
    expect(sandbox().requestCount() - before).toBe(1);
    await expect(
      invoke(provision.operation.perform, admin(), {
        email: 'new@example.com',
        credits: 9,
        mode: 'add',
      }),
    ).resolves.toEqual({
      email: 'new@example.com',
      credits: 9,
      granted: 9,
      created: true,
      mode: 'add',
      replayed: false,
      replayNote: null,
    });
  });

  it('deactivates the user (credits zeroed); again it halts (404) or reports nothing removed', async () => {
    await expect(invoke(removeUser.operation.perform, admin(), { email })).resolves.toEqual({
      provider: 'admin',
      email: 'jane.doe@example.com',
      removed: true,
      credits: 0,
      stale: false,
      staleNote: null,
    });
    const error = await failure(invoke(removeUser.operation.perform, admin(), { email }));
    expect(messageOf(error)).toBe(
      'Administration API found no such account (HTTP 404): Email is nonexistent',
    );
    await expect(
      invoke(removeUser.operation.perform, admin(), { email, ignoreMissing: 'true' }),
    ).resolves.toMatchObject({ removed: false });
  });

  it('refuses the Deal.ai-only action before any request', async () => {
    const before = sandbox().requestCount();

    const error = await failure(
      invoke(App.creates.change_role.operation.perform, admin(), { email, role: 'X' }),
    );

    expect(messageOf(error)).toMatch(
      /^Change Role works only with a Deal\.ai White Label connection/,
    );
    expect(sandbox().requestCount()).toBe(before);
  });
});
