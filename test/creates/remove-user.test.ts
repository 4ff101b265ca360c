import App from '../../index';
import { admin, adminAuth, dealai, dealaiAuth, failure, messageOf, run } from '../helpers';

const removeUser = App.creates.remove_user;

describe('Remove User on Deal.ai', () => {
  it('deletes the user by email', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(200, { message: 'User removed' });

    const result = await run(removeUser, dealaiAuth, { email: 'a@b.co' });

    expect(result).toEqual({ provider: 'dealai', email: 'a@b.co', removed: true });
  });

  it('halts on a missing user unless Succeed If Already Gone is set', async () => {
    dealai().delete('/users').reply(404, { error: 'User not found' });

    const error = await failure(run(removeUser, dealaiAuth, { email: 'a@b.co' }));

    expect(error.name).toBe('HaltedError');
    expect(messageOf(error)).toBe(
      'Deal.ai White Label found no such account (HTTP 404): User not found',
    );
  });

  it('reports nothing removed on a missing user when Succeed If Already Gone is set', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(404, { error: 'User not found' });

    const result = await run(removeUser, dealaiAuth, { email: 'a@b.co', ignoreMissing: 'yes' });

    expect(result).toEqual({ provider: 'dealai', email: 'a@b.co', removed: false });
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
    });
  });

  it('reports nothing removed on a missing account when Succeed If Already Gone is set', async () => {
    admin().delete('/users').reply(404, 'Email is nonexistent', { 'Content-Type': 'text/plain' });

    const result = await run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: true });

    expect(result).toEqual({ provider: 'admin', email: 'a@b.co', removed: false, credits: null });
  });

  it('still fails on other errors when Succeed If Already Gone is set', async () => {
    admin().delete('/users').reply(422, 'Character counts must be no more than 255');

    const error = await failure(
      run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: true }),
    );

    expect(error.name).toBe('HaltedError');
    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): Character counts must be no more than 255',
    );
  });
});
