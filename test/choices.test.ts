/**
 * The connection's provider by value or label, and the Deal.ai roles a connection may list
 * (src/roles.ts). A dropdown's choice as a person types it (readChoice) is pinned by the Mode
 * table in test/reliability/input.cases.test.ts.
 */

import App from '../index';
import { readProviderId } from '../src/providers';
import { readRole, readRoles } from '../src/roles';
import { dealai, dealaiAuth, run, unmatched } from './helpers';

describe('the API Provider', () => {
  it.each([
    ['dealai', 'dealai'],
    ['Deal.ai White Label', 'dealai'],
    [' ADMIN ', 'admin'],
    ['administration api', 'admin'],
    ['agentfirst', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (value, id) => {
    expect(readProviderId(value)).toBe(id);
  });

  it('runs a step on a connection that names its provider by label', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(200, { message: 'User removed' });

    const result = await run(
      App.creates.remove_user,
      { ...dealaiAuth, provider: 'Deal.ai White Label' },
      { email: 'a@b.co' },
    );

    expect(result).toEqual({
      provider: 'dealai',
      email: 'a@b.co',
      removed: true,
      stale: false,
      staleNote: null,
    });
  });
});

describe('the roles a Deal.ai connection lists', () => {
  it('reads one role per line or comma, trimmed, each once whatever its case', () => {
    expect(readRoles(' Premium Plan \n\nBasic  Plan, premium plan ,Gold\r\n')).toEqual([
      'Premium Plan',
      'Basic Plan',
      'Gold',
    ]);
    expect(readRoles(undefined)).toEqual([]);
    expect(readRoles('  ')).toEqual([]);
  });

  it("sends a listed role in the connection's spelling, and any other role as typed", () => {
    const roles = ['Premium Plan', 'Gold'];
    expect(readRole('premium  PLAN', roles)).toBe('Premium Plan');
    expect(readRole(' Platinum ', roles)).toBe('Platinum');
    expect(readRole('', roles)).toBeUndefined();
  });

  const listing = { ...dealaiAuth, roles: 'Premium Plan\nBasic Plan' };

  it("Add User sends a listed role in the connection's spelling", async () => {
    dealai()
      .post('/users', {
        firstName: 'Jane',
        email: 'jane@example.com',
        sendInviteEmail: 'no',
        role: 'Premium Plan',
      })
      .reply(200, { message: 'User added' });

    const result = await run(App.creates.add_user, listing, {
      firstName: 'Jane',
      email: 'jane@example.com',
      role: 'premium plan',
    });

    expect(result).toMatchObject({ role: 'Premium Plan' });
  });

  it('Change Role sends a custom role as typed, and still clears the role', async () => {
    dealai()
      .patch('/users/role', { email: 'jane@example.com', role: 'Platinum' })
      .reply(200, { message: 'Role updated' });
    dealai()
      .patch('/users/role', { email: 'jane@example.com' })
      .reply(200, { message: 'Role updated' });

    const custom = await run(App.creates.change_role, listing, {
      email: 'jane@example.com',
      role: 'Platinum',
    });
    const cleared = await run(App.creates.change_role, listing, {
      email: 'jane@example.com',
      role: '',
      clearRole: 'yes',
    });

    expect(custom).toMatchObject({ role: 'Platinum', roleCleared: false });
    expect(cleared).toMatchObject({ role: null, roleCleared: true });
    expect(unmatched).toEqual([]);
  });
});
