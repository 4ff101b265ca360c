import type { ZObject } from 'zapier-platform-core';

import App from '../index';
import { apiFor } from '../src/client';
import { admin, adminAuth, inApp, callable, dealaiAuth, failure, messageOf, run } from './helpers';
import { editorView, resolveFields } from './support/editor';
import type { Field } from './support/editor';
import { convertAsZapier } from './support/zapier-delivery';

/** The keys of a step's input fields, resolved as the editor asks for them (no connection yet). */
const inputKeys = async (path: string, authData: Record<string, string> = {}): Promise<string[]> =>
  (await resolveFields(App, `${path}.operation.inputFields`, authData)).map((field) => field.key);

describe('the public contract', () => {
  it('keeps its published keys', async () => {
    expect(Object.keys(App.creates)).toEqual([
      'add_user',
      'provision_credits',
      'change_role',
      'remove_user',
    ]);
    expect(Object.keys(App.searches)).toEqual(['find_user', 'find_usage']);
    expect(Object.keys(App.triggers)).toEqual(['new_user', 'credits_low']);
    expect(Object.keys(App.searchOrCreates ?? {})).toEqual(['find_user']);
    expect(App.searchOrCreates).toMatchObject({
      find_user: { key: 'find_user', search: 'find_user', create: 'add_user' },
    });
    expect(App.authentication?.fields?.map((field) => field.key)).toEqual([
      'provider',
      'apiKey',
      'baseUrl',
      'roles',
    ]);
    // Before a connection is chosen, every field of every provider shows, with its old key.
    expect(await inputKeys('creates.add_user')).toEqual([
      'email',
      'firstName',
      'lastName',
      'password',
      'sendInviteEmail',
      'role',
      'credits',
      'idempotencyKey',
      'eventTime',
    ]);
    expect(await inputKeys('creates.provision_credits')).toEqual([
      'email',
      'credits',
      'mode',
      'idempotencyKey',
    ]);
    expect(await inputKeys('creates.change_role')).toEqual([
      'email',
      'role',
      'clearRole',
      'eventTime',
    ]);
    expect(await inputKeys('creates.remove_user')).toEqual([
      'removalWarning',
      'email',
      'ignoreMissing',
      'eventTime',
    ]);
    expect(await inputKeys('searches.find_user')).toEqual(['email']);
    expect(await inputKeys('searches.find_usage')).toEqual(['email', 'from', 'to', 'service']);
    expect(await inputKeys('triggers.credits_low')).toEqual(['threshold', 'account']);
    expect(await inputKeys('triggers.new_user')).toEqual([]);
  });
});

describe('values as Zapier delivers them', () => {
  interface ActionField extends Field {
    action: string;
  }
  /** Every input field of every step, as the editor shows it on each kind of connection. */
  let fields: ActionField[] = [];
  beforeAll(async () => {
    const connections = [{}, dealaiAuth, adminAuth];
    const views = await Promise.all(connections.map((authData) => editorView(App, authData)));
    const byId = new Map<string, ActionField>();
    for (const view of views.flat()) {
      for (const field of view.inputFields) {
        byId.set(`${view.path}.${field.key}`, { ...field, action: view.path });
      }
    }
    fields = [...byId.values()];
  });

  it('declares no field as integer, number, boolean or datetime, which the platform would convert first', () => {
    expect(fields.length).toBeGreaterThan(10);
    expect(
      fields
        .filter((field) =>
          ['integer', 'number', 'boolean', 'datetime'].includes(field.type ?? 'string'),
        )
        .map((field) => `${field.action}.${field.key}`),
    ).toEqual([]);
  });

  it('offers every yes/no field as a Yes/No dropdown that defaults to no', () => {
    const yesNo = fields.filter((field) =>
      ['sendInviteEmail', 'clearRole', 'ignoreMissing'].includes(field.key),
    );

    expect(yesNo).toHaveLength(3);
    for (const field of yesNo) {
      expect(field).toMatchObject({
        type: 'string',
        default: 'no',
        choices: [
          { value: 'yes', label: 'Yes' },
          { value: 'no', label: 'No' },
        ],
      });
    }
  });

  it('the conversion the tests apply is the platform\'s: an integer field reads "1,000" as 1', () => {
    const integerField = [{ key: 'amount', type: 'integer' }];
    const booleanField = [{ key: 'flag', type: 'boolean' }];

    expect(convertAsZapier(integerField, { amount: '1,000' })).toEqual({ amount: 1 });
    expect(convertAsZapier(booleanField, { flag: 'maybe' })).toEqual({ flag: true });
    // A date without a time becomes 09:00: why From and To (Find Usage) are declared as text.
    expect(convertAsZapier([{ key: 'to', type: 'datetime' }], { to: '2026-11-01' })).toEqual({
      to: '2026-11-01T09:00:00+00:00',
    });
    expect(
      convertAsZapier(App.creates.provision_credits.operation.inputFields ?? [], {
        credits: '1,000',
      }),
    ).toEqual({ credits: '1,000' });
  });
});

describe('the request helper', () => {
  it('refuses a route the action did not declare, instead of sending it', async () => {
    const error = await failure(
      inApp((z: ZObject, bundle) => apiFor(z, bundle, 'Test', ['addUser']).call('findUsers'), {
        authData: dealaiAuth,
      }),
    );

    expect(messageOf(error)).toBe(
      'Deal.ai White Label has no route "findUsers"; declare it in apiFor()',
    );
  });

  it('quotes a JSON string body as the message', async () => {
    admin().delete('/users').reply(422, JSON.stringify('Amount must be a positive integer'), {
      'Content-Type': 'application/json',
    });

    const error = await failure(run(App.creates.remove_user, adminAuth, { email: 'a@b.co' }));

    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): Amount must be a positive integer',
    );
  });

  it('fails the admin connection test when the answer holds no account email', async () => {
    admin().get('/user').reply(200, { credits: 5 });

    const error = await failure(inApp(callable(App.authentication?.test), { authData: adminAuth }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'The Base URL https://api.agentfirst.dev does not reach the Administration API: GET /user answered {"credits":5}, not the token\'s own account (its email and credits). Check the connection\'s Base URL.',
    );
  });
});

describe('Provision Credits against an inconsistent API', () => {
  it('fails clearly when the API says the account exists but does not list it', async () => {
    const email = 'jane@example.com';
    admin().get('/users').query({ email }).reply(200, []);
    admin().post('/users', { email, credits: 10 }).reply(409, 'Email already exists');
    admin().get('/users').query({ email }).reply(200, []);

    const error = await failure(
      run(App.creates.provision_credits, adminAuth, { email, credits: 10, mode: 'atLeast' }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'The Administration API says jane@example.com already has an account, yet does not list it. Try again later.',
    );
  });
});
