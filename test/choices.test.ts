/**
 * Dropdowns as a person types them (readChoice), the connection's provider by value or label,
 * and the Deal.ai roles a connection may list (src/roles.ts).
 */
import type { ZObject } from 'zapier-platform-core';

import App from '../index';
import { readChoice } from '../src/fields';
import { readProviderId } from '../src/providers';
import { readRole, readRoles } from '../src/roles';
import { appTester, dealai, dealaiAuth, failure, messageOf, run, unmatched } from './helpers';

const CHOICES = [
  { value: 'add', label: 'Add: grant this many more credits' },
  { value: 'atLeast', label: 'Top Up: raise the balance to at least this many' },
  { value: 'own', label: 'Your own account (the connection)' },
];

const choose = (value: unknown) =>
  appTester((z: ZObject) => readChoice(z, value, 'Mode', CHOICES) ?? null, {});

describe('readChoice', () => {
  it.each([
    ['add', 'add'],
    ['ADD', 'add'],
    ['Add', 'add'],
    ['add: grant this many more credits', 'add'],
    ['atleast', 'atLeast'],
    ['Top Up', 'atLeast'],
    ['  top   up ', 'atLeast'],
    ['TOP UP: RAISE THE BALANCE TO AT LEAST THIS MANY', 'atLeast'],
    ['your own account', 'own'],
    ['Your own account (the connection)', 'own'],
    ['', null],
    ['   ', null],
    [undefined, null],
  ])('reads %j as %j', async (typed, value) => {
    await expect(choose(typed)).resolves.toBe(value);
  });

  it.each(['Top', 'grant this many more credits', 'add more', 'the connection', 7])(
    'refuses %j, quoting it and naming the choices',
    async (typed) => {
      const error = await failure(choose(typed));

      expect(messageOf(error)).toBe(
        `Mode: ${JSON.stringify(String(typed))} is not one of its choices: Add (add), Top Up (atLeast) or Your own account (own). Pick one, or map a field that holds a choice's name or value.`,
      );
    },
  );
});

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
