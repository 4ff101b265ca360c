import type { ZObject } from 'zapier-platform-core';

import App from '../index';
import { openApi } from '../src/client';
import {
  admin,
  adminAuth,
  appTester,
  callable,
  dealaiAuth,
  failure,
  messageOf,
  run,
} from './helpers';

describe('the public contract', () => {
  it('keeps its published keys', () => {
    expect(Object.keys(App.creates)).toEqual([
      'add_user',
      'provision_credits',
      'change_role',
      'remove_user',
    ]);
    expect(Object.keys(App.searches)).toEqual(['find_user']);
    expect(Object.keys(App.searchOrCreates ?? {})).toEqual(['find_user']);
    expect(App.searchOrCreates).toMatchObject({
      find_user: { key: 'find_user', search: 'find_user', create: 'add_user' },
    });
    expect(App.authentication?.fields?.map((field) => field.key)).toEqual([
      'provider',
      'apiKey',
      'baseUrl',
    ]);
    const inputKeys = (action: { operation: { inputFields?: unknown[] } }) =>
      (action.operation.inputFields ?? []).map((field) =>
        typeof field === 'object' && field !== null && 'key' in field ? field.key : undefined,
      );
    expect(inputKeys(App.creates.add_user)).toEqual([
      'firstName',
      'lastName',
      'email',
      'password',
      'sendInviteEmail',
      'role',
      'credits',
      'idempotencyKey',
    ]);
    expect(inputKeys(App.creates.provision_credits)).toEqual([
      'email',
      'credits',
      'mode',
      'idempotencyKey',
    ]);
    expect(inputKeys(App.creates.change_role)).toEqual(['email', 'role', 'clearRole']);
    expect(inputKeys(App.creates.remove_user)).toEqual(['email', 'ignoreMissing']);
    expect(inputKeys(App.searches.find_user)).toEqual(['email']);
  });
});

describe('the request helper', () => {
  it('refuses a route the action did not declare, instead of sending it', async () => {
    const error = await failure(
      appTester((z: ZObject, bundle) => openApi(z, bundle, 'Test', ['addUser']).call('findUsers'), {
        authData: dealaiAuth,
      }),
    );

    expect(messageOf(error)).toBe(
      'Deal.ai White Label has no route "findUsers"; declare it in openApi()',
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

  it('labels an admin connection by host when its own account has no email', async () => {
    admin().get('/user').reply(200, { credits: 5 });

    const result = await appTester(callable(App.authentication?.test), { authData: adminAuth });

    expect(result).toMatchObject({ email: null, label: 'Administration API (api.agentfirst.dev)' });
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
