/**
 * Zapier's check T004: the keys of a step's static sample must be in every live result. Each step
 * runs here through its outcomes (each provider it works on, each answer the API may give, with
 * and without an Idempotency Key, a replay), as Zapier's Lambda runs it, and every result (every
 * item of a search or a poll) must hold every key of the sample of the integration and of the
 * edition of the connection's provider.
 */
import nock from 'nock';

import App from '../index';
import { editionOf } from '../src/editions';
import type { ProviderId } from '../src/providers';
import { admin, adminAuth, dealai, dealaiAuth, dealaiWithInvalidKey } from './helpers';
import { execute } from './support/lambda';
import { RUN, allowLogStream, fakeCache } from './support/zcache';
import { isRecord } from '../src/records';

const EMAIL = 'jane@example.com';
const TOKEN = 'a1-newAccountSecretToken0123456789';

beforeEach(allowLogStream);

afterEach(() => {
  nock.abortPendingRequests();
});

type JsonObject = Record<string, unknown>;

const sampleOf = (app: object, path: string): string[] => {
  const [kind = '', key = ''] = path.split('.');
  const group: unknown = Reflect.get(app, kind);
  const step = isRecord(group) ? group[key] : undefined;
  const operation = isRecord(step) ? step.operation : undefined;
  const sample = isRecord(operation) ? operation.sample : undefined;
  if (!isRecord(sample)) {
    throw new Error(`${path} has no sample`);
  }
  return Object.keys(sample);
};

const EDITIONS: Record<ProviderId, object> = {
  dealai: editionOf(App, 'dealai'),
  admin: editionOf(App, 'admin'),
};

interface Outcome {
  name: string;
  path: string;
  provider: ProviderId;
  /** Sets up the API's answers; returns the input to run with. */
  arrange: () => JsonObject;
  meta?: JsonObject;
  /** Runs it again with the same input (an Idempotency Key's replay). */
  twice?: boolean;
}

const added = { message: 'User added', email: EMAIL, firstName: 'Jane', role: 'Premium Plan' };

const OUTCOMES: Outcome[] = [
  {
    name: 'Add User on Deal.ai, the answer echoing the user',
    path: 'creates.add_user',
    provider: 'dealai',
    arrange: () => {
      dealai().post('/users').reply(200, added);
      return { firstName: 'Jane', email: EMAIL, role: 'Premium Plan', sendInviteEmail: 'yes' };
    },
  },
  {
    name: 'Add User on Deal.ai, an empty answer',
    path: 'creates.add_user',
    provider: 'dealai',
    arrange: () => {
      dealai().post('/users').reply(200, '');
      return { firstName: 'Jane', email: EMAIL };
    },
  },
  {
    name: 'Add User on Deal.ai with an Idempotency Key, then its replay',
    path: 'creates.add_user',
    provider: 'dealai',
    twice: true,
    arrange: () => {
      dealai().post('/users').reply(200, added);
      return { firstName: 'Jane', email: EMAIL, idempotencyKey: 'evt_1' };
    },
  },
  {
    name: 'Add User on the Administration API, with starting credits',
    path: 'creates.add_user',
    provider: 'admin',
    arrange: () => {
      admin().post('/users').reply(201, { email: EMAIL, token: TOKEN, credits: 5 });
      return { email: EMAIL, credits: '5' };
    },
  },
  {
    name: 'Add User on the Administration API, an answer without credits',
    path: 'creates.add_user',
    provider: 'admin',
    arrange: () => {
      admin().post('/users').reply(201, { email: EMAIL, token: TOKEN });
      return { email: EMAIL };
    },
  },
  {
    name: 'Add User on the Administration API with an Idempotency Key, then its replay (no token)',
    path: 'creates.add_user',
    provider: 'admin',
    twice: true,
    arrange: () => {
      admin().post('/users').reply(201, { email: EMAIL, token: TOKEN, credits: 0 });
      return { email: EMAIL, idempotencyKey: 'evt_2' };
    },
  },
  {
    name: 'Provision Credits, Add to an existing account',
    path: 'creates.provision_credits',
    provider: 'admin',
    arrange: () => {
      admin().patch('/users').reply(200, { email: EMAIL, credits: 15 });
      return { email: EMAIL, credits: '5', mode: 'add' };
    },
  },
  {
    name: 'Provision Credits, Add creating the account',
    path: 'creates.provision_credits',
    provider: 'admin',
    arrange: () => {
      admin().patch('/users').reply(404, 'Email is nonexistent');
      admin().post('/users').reply(201, { email: EMAIL, token: TOKEN, credits: 5 });
      return { email: EMAIL, credits: '5', mode: 'Add' };
    },
  },
  {
    name: 'Provision Credits, Top Up already high enough',
    path: 'creates.provision_credits',
    provider: 'admin',
    arrange: () => {
      admin()
        .get('/users')
        .query(true)
        .reply(200, [{ email: EMAIL, credits: 50 }]);
      return { email: EMAIL, credits: '5', mode: 'Top Up' };
    },
  },
  {
    name: 'Provision Credits, Top Up with an Idempotency Key, then its replay',
    path: 'creates.provision_credits',
    provider: 'admin',
    twice: true,
    arrange: () => {
      admin()
        .get('/users')
        .query(true)
        .reply(200, [{ email: EMAIL, credits: 1 }]);
      admin().patch('/users').reply(200, { email: EMAIL, credits: 5 });
      return { email: EMAIL, credits: '5', mode: 'atLeast', idempotencyKey: 'evt_3' };
    },
  },
  {
    name: 'Change Role, a new role',
    path: 'creates.change_role',
    provider: 'dealai',
    arrange: () => {
      dealai().patch('/users/role').reply(200, { message: 'Role updated' });
      return { email: EMAIL, role: 'Premium Plan' };
    },
  },
  {
    name: 'Change Role, the role cleared',
    path: 'creates.change_role',
    provider: 'dealai',
    arrange: () => {
      dealai().patch('/users/role').reply(200, '');
      return { email: EMAIL, clearRole: 'yes' };
    },
  },
  {
    name: 'Remove User on Deal.ai',
    path: 'creates.remove_user',
    provider: 'dealai',
    arrange: () => {
      dealai().delete('/users').reply(200, { message: 'User removed' });
      return { email: EMAIL };
    },
  },
  {
    name: 'Remove User on Deal.ai, already gone',
    path: 'creates.remove_user',
    provider: 'dealai',
    arrange: () => {
      dealai().delete('/users').reply(404, { error: 'User not found' });
      // The route refuses a key that cannot be valid: the 404 is the API's own (docs/api.md).
      dealaiWithInvalidKey().delete('/users').reply(403, { error: 'Invalid API key' });
      return { email: EMAIL, ignoreMissing: 'yes' };
    },
  },
  {
    name: 'Remove User on the Administration API',
    path: 'creates.remove_user',
    provider: 'admin',
    arrange: () => {
      admin().delete('/users').reply(200, { email: EMAIL, credits: 0 });
      return { email: EMAIL };
    },
  },
  {
    name: 'Remove User on the Administration API, already gone',
    path: 'creates.remove_user',
    provider: 'admin',
    arrange: () => {
      admin().delete('/users').reply(404, 'Email is nonexistent');
      return { email: EMAIL, ignoreMissing: 'yes' };
    },
  },
  {
    name: 'Find User, found',
    path: 'searches.find_user',
    provider: 'admin',
    arrange: () => {
      admin()
        .get('/users')
        .query(true)
        .reply(200, [{ email: EMAIL, credits: 3 }]);
      return { email: EMAIL };
    },
  },
  {
    name: 'Find Usage, with usage and without',
    path: 'searches.find_usage',
    provider: 'admin',
    twice: true,
    arrange: () => {
      const row = { email: EMAIL, service: 'search', result: 'failure', calls: 2, credits: 0 };
      admin().get('/usage').query(true).reply(200, [row]);
      admin().get('/usage').query(true).reply(200, []);
      return { from: 'yesterday', to: 'now', service: 'Search' };
    },
  },
  {
    name: 'New User, a test poll',
    path: 'triggers.new_user',
    provider: 'admin',
    meta: { isLoadingSample: true },
    arrange: () => {
      admin()
        .get('/users')
        .reply(200, [{ email: EMAIL, credits: 3 }]);
      return {};
    },
  },
  {
    name: 'Credits Running Low, a test poll',
    path: 'triggers.credits_low',
    provider: 'admin',
    meta: { isLoadingSample: true },
    arrange: () => {
      admin()
        .get('/users')
        .reply(200, [{ email: EMAIL, credits: 3 }]);
      return { threshold: '10' };
    },
  },
];

/** The items of a result: the object a create returns, each item a search or poll returns. */
const itemsOf = (result: unknown): unknown[] => (Array.isArray(result) ? result : [result]);

describe('every live result holds every key of its sample (T004)', () => {
  it('covers every step of the integration', () => {
    const steps = new Set(OUTCOMES.map((outcome) => outcome.path));
    const all = ['triggers', 'creates', 'searches'].flatMap((kind) => {
      const group: unknown = Reflect.get(App, kind);
      return Object.keys(isRecord(group) ? group : {}).map((key) => `${kind}.${key}`);
    });
    expect([...steps].sort()).toEqual(all.sort());
  });

  it.each(OUTCOMES.map((outcome) => [outcome.name, outcome] as const))(
    '%s',
    async (_name, outcome) => {
      const authData = outcome.provider === 'dealai' ? dealaiAuth : adminAuth;
      const inputData = outcome.arrange();
      if (inputData.idempotencyKey !== undefined) {
        fakeCache();
      }
      const method = `${outcome.path}.operation.perform`;
      const bundle = { authData, inputData, ...(outcome.meta ? { meta: outcome.meta } : {}) };
      const results = [await execute(method, bundle, RUN)];
      if (outcome.twice === true) {
        results.push(await execute(method, bundle, RUN));
      }
      const items = results.flatMap(itemsOf);
      expect(items.length).toBeGreaterThan(0);
      for (const app of [App, EDITIONS[outcome.provider]]) {
        const sample = sampleOf(app, outcome.path);
        for (const item of items) {
          const keys = isRecord(item) ? Object.keys(item) : [];
          expect(sample.filter((key) => !keys.includes(key))).toEqual([]);
        }
      }
    },
  );

  it("holds in an edition's sample exactly the keys of its provider's results", async () => {
    dealai().post('/users').reply(200, added);
    admin().post('/users').reply(201, { email: EMAIL, token: TOKEN, credits: 5 });
    const onDealai = await execute(
      'creates.add_user.operation.perform',
      { authData: dealaiAuth, inputData: { firstName: 'Jane', email: EMAIL } },
      RUN,
    );
    const onAdmin = await execute(
      'creates.add_user.operation.perform',
      { authData: adminAuth, inputData: { email: EMAIL } },
      RUN,
    );

    const keys = (value: unknown) => (isRecord(value) ? Object.keys(value).sort() : []);
    expect(sampleOf(EDITIONS.dealai, 'creates.add_user').sort()).toEqual(keys(onDealai));
    expect(sampleOf(EDITIONS.admin, 'creates.add_user').sort()).toEqual(keys(onAdmin));
    // The integration's sample is what both have in common.
    expect(sampleOf(App, 'creates.add_user').sort()).toEqual(
      keys(onDealai).filter((key) => keys(onAdmin).includes(key)),
    );
  });
});
