import App from '../../index';
import { invoke, useSandbox } from './setup';

const { admin, dealai } = useSandbox();

/** The keys Zapier shows for an action before it has run: its sample's. */
const sampleKeys = (action: { operation: { sample?: unknown } }): string[] =>
  Object.keys(action.operation.sample ?? {}).sort();

/** What only a step with an Idempotency Key returns (see src/idempotency.ts). */
const REPLAY_KEYS = ['replayNote', 'replayed'];

const withoutReplayKeys = (keys: string[]): string[] =>
  keys.filter((key) => !REPLAY_KEYS.includes(key));

const keysOf = (value: unknown): string[] =>
  typeof value === 'object' && value !== null ? Object.keys(value).sort() : [];

describe('every action returns the keys of its sample, on every provider', () => {
  it('Add User, Change Role and Remove User on Deal.ai', async () => {
    const { add_user: addUser, change_role: changeRole, remove_user: removeUser } = App.creates;
    const email = 'keys@example.com';

    const added = await invoke(addUser.operation.perform, dealai(), { firstName: 'K', email });
    const changed = await invoke(changeRole.operation.perform, dealai(), {
      email,
      role: 'Basic Plan',
    });
    const removed = await invoke(removeUser.operation.perform, dealai(), { email });

    expect(keysOf(added)).toEqual(withoutReplayKeys(sampleKeys(addUser)));
    expect(keysOf(changed)).toEqual(sampleKeys(changeRole));
    expect(keysOf(removed)).toEqual(sampleKeys(removeUser));
  });

  it('Add User, Find User, Provision Credits and Remove User on the Administration API', async () => {
    const {
      add_user: addUser,
      provision_credits: provision,
      remove_user: removeUser,
    } = App.creates;
    const findUser = App.searches.find_user;
    const email = 'keys@example.com';

    const added = await invoke(addUser.operation.perform, admin(), { email });
    const found = await invoke(findUser.operation.perform, admin(), { email });
    const provisioned = await invoke(provision.operation.perform, admin(), {
      email,
      credits: 5,
      mode: 'add',
    });
    const removed = await invoke(removeUser.operation.perform, admin(), { email });

    expect(keysOf(added)).toEqual(withoutReplayKeys(sampleKeys(addUser)));
    expect(Array.isArray(found) ? found.map(keysOf) : found).toEqual([sampleKeys(findUser)]);
    expect(keysOf(provisioned)).toEqual(withoutReplayKeys(sampleKeys(provision)));
    expect(keysOf(removed)).toEqual(sampleKeys(removeUser));
  });

  it('Add User and Provision Credits with an Idempotency Key return every key of their samples', async () => {
    const { add_user: addUser, provision_credits: provision } = App.creates;
    const email = 'keyed@example.com';

    const added = await invoke(addUser.operation.perform, admin(), {
      email,
      idempotencyKey: 'evt_keys_1',
    });
    const provisioned = await invoke(provision.operation.perform, admin(), {
      email,
      credits: 5,
      mode: 'add',
      idempotencyKey: 'evt_keys_2',
    });

    expect(keysOf(added)).toEqual(sampleKeys(addUser));
    expect(keysOf(provisioned)).toEqual(sampleKeys(provision));
    expect(withoutReplayKeys(sampleKeys(addUser))).not.toEqual(sampleKeys(addUser));
  });
});
