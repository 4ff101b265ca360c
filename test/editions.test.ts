/**
 * The editions (src/editions.ts): the same definition, filtered for one provider. Their steps run
 * with the edition's provider whatever the connection holds, and each passes the platform's own
 * schema validation (the handler's `validate` command, which `zapier-platform validate` runs).
 */
import App from '../index';
import { editionOf } from '../src/editions';
import { STEPS, stepsOf } from '../src/providers';
import { admin, ADMIN_KEY, inApp, callable, dealai, DEALAI_KEY, run } from './helpers';
import { inProcessApp } from '../tools/harness';
import { isRecord } from '../src/records';

const dealaiEdition = editionOf(App, 'dealai');
const adminEdition = editionOf(App, 'admin');

type JsonObject = Record<string, unknown>;

/** `edition[kind][key].operation`, as the edition holds it. */
const operationOf = (edition: JsonObject, kind: string, key: string): { perform?: unknown } => {
  const group = edition[kind];
  const step = isRecord(group) ? group[key] : undefined;
  const operation = isRecord(step) ? step.operation : undefined;
  return isRecord(operation) ? operation : {};
};

const recordOf = (value: unknown): JsonObject => (isRecord(value) ? value : {});

const operationHolder = (edition: JsonObject, kind: string, key: string): JsonObject => {
  const group = edition[kind];
  const step = isRecord(group) ? group[key] : undefined;
  return isRecord(step) ? step : {};
};

const stepKeys = (app: object): string[] =>
  ['triggers', 'creates', 'searches'].flatMap((kind) => {
    const group: unknown = Reflect.get(app, kind);
    return Object.keys(isRecord(group) ? group : {}).map((key) => `${kind}.${key}`);
  });

describe('editionOf', () => {
  it.each([
    ['dealai', dealaiEdition],
    ['admin', adminEdition],
  ] as const)('offers on %s exactly the steps of the steps table', (provider, edition) => {
    expect(stepKeys(edition).sort()).toEqual(
      stepsOf(provider)
        .map((step) => `${step.kind}.${step.key}`)
        .sort(),
    );
  });

  it('keeps Find or Add User only where both its search and its create remain', () => {
    expect(
      Object.keys(isRecord(adminEdition.searchOrCreates) ? adminEdition.searchOrCreates : {}),
    ).toEqual(['find_user']);
    expect(dealaiEdition.searchOrCreates).toEqual({});
  });

  it('leaves the integration itself as it was', () => {
    expect(stepKeys(App)).toHaveLength(Object.keys(STEPS).length);
    expect(App.authentication?.fields?.[0]?.key).toBe('provider');
  });

  it.each([
    ['the integration', App],
    ['the Deal.ai edition', dealaiEdition],
    ['the Administration API edition', adminEdition],
  ])("passes the platform's schema validation: %s", async (_name, app) => {
    expect(await inProcessApp(app, 'cli').validate()).toEqual([]);
  });

  it('is a validation that fails on a broken definition', async () => {
    // A step whose noun is a number.
    const broken = {
      ...adminEdition,
      searches: {
        find_user: { ...operationHolder(adminEdition, 'searches', 'find_user'), noun: 7 },
      },
    };
    expect(await inProcessApp(broken, 'cli').validate()).not.toEqual([]);
  });

  it('runs a Deal.ai step on a connection without a provider', async () => {
    dealai().delete('/users', { email: 'a@b.co' }).reply(200, { message: 'User removed' });

    const result = await run(
      { operation: operationOf(dealaiEdition, 'creates', 'remove_user') },
      { apiKey: DEALAI_KEY },
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

  it("runs with the edition's provider whatever the connection says", async () => {
    admin()
      .get('/users')
      .query({ email: 'a@b.co' })
      .reply(200, [{ email: 'a@b.co', credits: 2 }]);

    const result = await run(
      { operation: operationOf(adminEdition, 'searches', 'find_user') },
      { provider: 'dealai', apiKey: ADMIN_KEY },
      { email: 'a@b.co' },
    );

    expect(result).toEqual([{ email: 'a@b.co', credits: 2 }]);
  });

  it("tests the connection with the edition's provider", async () => {
    admin()
      .get('/user')
      .reply(200, [{ email: 'owner@example.com', credits: 5 }]);
    const authentication = isRecord(adminEdition.authentication) ? adminEdition.authentication : {};

    const result = await inApp(callable(authentication.test), {
      authData: { apiKey: ADMIN_KEY },
    });

    expect(result).toMatchObject({ provider: 'admin', label: 'owner@example.com' });
  });

  it('filters a sparse definition without inventing anything', () => {
    const sparse = editionOf(
      {
        version: '1.0.0',
        triggers: 'not a group',
        creates: {
          provision_credits: { key: 'provision_credits' },
          remove_user: 7,
          nope: { key: 'nope' },
        },
        searchOrCreates: { odd: 5, find_user: { search: 'find_user', create: 'add_user' } },
      },
      'admin',
    );

    expect(Object.keys(recordOf(sparse.authentication))).toEqual(['fields']);
    expect({ ...sparse, authentication: undefined }).toEqual({
      version: '1.0.0',
      authentication: undefined,
      triggers: {},
      creates: { provision_credits: { key: 'provision_credits', display: {}, operation: {} } },
      searches: {},
      searchOrCreates: {},
    });
  });

  it("gives a function called without a bundle the edition's provider", () => {
    const seen: unknown[] = [];
    const edition = editionOf(
      { authentication: { test: (_z: unknown, bundle: unknown) => seen.push(bundle) } },
      'dealai',
    );
    const test: unknown = isRecord(edition.authentication) ? edition.authentication.test : null;
    if (typeof test !== 'function') {
      throw new Error('the edition has no connection test');
    }

    Reflect.apply(test, undefined, [{}, {}]);
    Reflect.apply(test, undefined, [{}, undefined]);

    expect(seen).toEqual([
      { authData: { provider: 'dealai' } },
      { authData: { provider: 'dealai' } },
    ]);
  });
});
