/**
 * Zapier's check T004, against the sandbox: the keys of a step's static sample are in every live
 * result, for the integration of both providers and for each edition (whose samples hold the
 * keys of its provider's results). test/samples.test.ts covers every outcome of every step.
 */
import App from '../../index';
import { editionOf } from '../../src/editions';
import { invoke, useSandbox } from './setup';

const { admin, dealai } = useSandbox();

const keysOf = (value: unknown): string[] =>
  typeof value === 'object' && value !== null ? Object.keys(value).sort() : [];

/** The sample of `kind.key` in `app` (the integration or an edition). */
const sampleKeys = (app: object, kind: string, key: string): string[] => {
  const group: unknown = Reflect.get(app, kind);
  const step: unknown = typeof group === 'object' && group !== null ? Reflect.get(group, key) : {};
  const operation: unknown =
    typeof step === 'object' && step !== null ? Reflect.get(step, 'operation') : {};
  return keysOf(
    typeof operation === 'object' && operation !== null ? Reflect.get(operation, 'sample') : {},
  );
};

/** Expects every key of the sample in the live result: `missing` is empty. */
const missing = (sample: string[], result: unknown): string[] =>
  sample.filter((key) => !keysOf(result).includes(key));

describe('every live result holds the keys of its sample, on every provider', () => {
  it('Add User, Change Role and Remove User on Deal.ai', async () => {
    const { add_user: addUser, change_role: changeRole, remove_user: removeUser } = App.creates;
    const email = 'keys@example.com';
    const edition = editionOf(App, 'dealai');

    const added = await invoke(addUser.operation.perform, dealai(), { firstName: 'K', email });
    const changed = await invoke(changeRole.operation.perform, dealai(), {
      email,
      role: 'Basic Plan',
    });
    const removed = await invoke(removeUser.operation.perform, dealai(), { email });

    for (const app of [App, edition]) {
      expect(missing(sampleKeys(app, 'creates', 'add_user'), added)).toEqual([]);
      expect(missing(sampleKeys(app, 'creates', 'change_role'), changed)).toEqual([]);
      expect(missing(sampleKeys(app, 'creates', 'remove_user'), removed)).toEqual([]);
    }
    // The edition's samples are the whole of its results, not just their common part.
    expect(sampleKeys(edition, 'creates', 'add_user')).toEqual(keysOf(added));
    expect(sampleKeys(edition, 'creates', 'remove_user')).toEqual(keysOf(removed));
  });

  it('Add User, Find User, Provision Credits and Remove User on the Administration API', async () => {
    const {
      add_user: addUser,
      provision_credits: provision,
      remove_user: removeUser,
    } = App.creates;
    const findUser = App.searches.find_user;
    const email = 'keys@example.com';
    const edition = editionOf(App, 'admin');

    const added = await invoke(addUser.operation.perform, admin(), { email });
    const found = await invoke(findUser.operation.perform, admin(), { email });
    const provisioned = await invoke(provision.operation.perform, admin(), {
      email,
      credits: 5,
      mode: 'Add',
    });
    const removed = await invoke(removeUser.operation.perform, admin(), { email });

    for (const app of [App, edition]) {
      expect(missing(sampleKeys(app, 'creates', 'add_user'), added)).toEqual([]);
      expect(Array.isArray(found) ? found.map(keysOf) : found).toEqual([
        sampleKeys(app, 'searches', 'find_user'),
      ]);
      expect(missing(sampleKeys(app, 'creates', 'provision_credits'), provisioned)).toEqual([]);
      expect(missing(sampleKeys(app, 'creates', 'remove_user'), removed)).toEqual([]);
    }
    expect(sampleKeys(edition, 'creates', 'add_user')).toEqual(keysOf(added));
    expect(sampleKeys(edition, 'creates', 'remove_user')).toEqual(keysOf(removed));
  });

  it('Add User and Provision Credits return the same keys with an Idempotency Key and without', async () => {
    const { add_user: addUser, provision_credits: provision } = App.creates;

    const keyed = await invoke(addUser.operation.perform, admin(), {
      email: 'keyed@example.com',
      idempotencyKey: 'evt_keys_1',
    });
    const unkeyed = await invoke(addUser.operation.perform, admin(), {
      email: 'unkeyed@example.com',
    });
    const provisionedKeyed = await invoke(provision.operation.perform, admin(), {
      email: 'keyed@example.com',
      credits: 5,
      mode: 'add',
      idempotencyKey: 'evt_keys_2',
    });
    const provisioned = await invoke(provision.operation.perform, admin(), {
      email: 'keyed@example.com',
      credits: 5,
      mode: 'add',
    });

    expect(keysOf(keyed)).toEqual(keysOf(unkeyed));
    expect(keysOf(provisionedKeyed)).toEqual(keysOf(provisioned));
    expect(keysOf(provisioned)).toEqual(sampleKeys(App, 'creates', 'provision_credits'));
    expect(keysOf(unkeyed)).toEqual(expect.arrayContaining(['replayed', 'replayNote']));
  });
});
