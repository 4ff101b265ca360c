/**
 * The Idempotency Key of Add User and Provision Credits, run as Zapier's Lambda runs the app
 * (with `rpc_base` and `token`), against nock for the APIs and a fake of Zapier's cache that,
 * unlike core's in-memory stand-in, honours set-if-absent and scopes (test/support/zcache.ts).
 */
import nock from 'nock';

import { cacheKey } from '../src/cache';
import {
  GUARD_TTL_SECONDS,
  KEY_TTL_SECONDS,
  MAX_KEY_CHARS,
  PENDING_STALE_MS,
} from '../src/idempotency';
import {
  ADMIN_ORIGIN,
  DEALAI_ORIGIN,
  DEALAI_PATH,
  admin,
  adminAuth,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  payloadOf,
  unmatched,
} from './helpers';
import { execute } from './support/lambda';
import { RUN, allowLogStream, fakeCache } from './support/zcache';
import type { FakeCache } from './support/zcache';

const ADD_USER = 'creates.add_user.operation.perform';
const PROVISION = 'creates.provision_credits.operation.perform';
const SCOPE = ['auth', 'user'];
const EMAIL = 'jane@example.com';
const KEY = 'pi_3MtwBwLkdIwHu7ix28a3tqPa';
const TOKEN = 'a1-newAccountSecretToken0123456789';
const GRANT = { email: EMAIL, credits: 5, mode: 'add', idempotencyKey: KEY };

const provision = (inputData: Record<string, unknown>) =>
  execute(PROVISION, { authData: adminAuth, inputData }, RUN);

const addUser = (authData: Record<string, string>, inputData: Record<string, unknown>) =>
  execute(ADD_USER, { authData, inputData }, RUN);

const keyOf = (provider: string, baseUrl: string, action: string, key = KEY) =>
  cacheKey(['idempotency', provider, baseUrl, action], key);

const PROVISION_KEY = keyOf('admin', ADMIN_ORIGIN, 'provision_credits');
const ADD_USER_KEY = keyOf('admin', ADMIN_ORIGIN, 'add_user');

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });

/** A text field of a stored entry. */
const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;

const stateOf = (cache: FakeCache, key = PROVISION_KEY): unknown =>
  field(cache.read(key, SCOPE), 'state');

const grantsOnce = (credits = 6) =>
  admin().patch('/users', { email: EMAIL, amount: 5 }).reply(200, { email: EMAIL, credits });

const PROVISIONED = { email: EMAIL, credits: 6, granted: 5, created: false, mode: 'add' };

const IN_PROGRESS =
  /^Idempotency Key "pi_3MtwBwLkdIwHu7ix28a3tqPa": a delivery with this key is in progress \(since \S+\), so this one sent nothing\. Replay this run once that one has finished: it will return its result\.$/;
const CHECK_THE_ACCOUNT =
  /^Idempotency Key "pi_3MtwBwLkdIwHu7ix28a3tqPa": the run of \S+ with this key may have applied its change without recording its result, so this run sent nothing\. Check the account: if the change is missing, make it by hand, or map a new Idempotency Key \(for example the same ID plus "-2"\) and replay this run\.$/;

beforeEach(allowLogStream);

afterEach(() => {
  nock.abortPendingRequests();
});

describe('without an Idempotency Key', () => {
  it.each([undefined, '', '  '])(
    'with %p sends as before, returns the same keys as a run with a key, and only reads the guard of Add grants',
    async (idempotencyKey) => {
      const cache = fakeCache();
      grantsOnce();

      const result = await provision({ email: EMAIL, credits: 5, mode: 'add', idempotencyKey });

      expect(result).toEqual({ ...PROVISIONED, replayed: false, replayNote: null });
      // One read: has a failed run of this same grant perhaps applied it? Nothing is stored.
      expect(cache.calls.map(({ method }) => method)).toEqual(['zcache_get']);
      expect(cache.only()).toBeUndefined();
    },
  );

  it('Top Up without a key never calls the cache: a replay reads the balance first', async () => {
    // No fake cache: a call to Zapier's RPC would be refused by nock and show in `unmatched`.
    admin()
      .get('/users')
      .query({ email: EMAIL })
      .reply(200, [{ email: EMAIL, credits: 9 }]);

    const result = await provision({ email: EMAIL, credits: 5, mode: 'atLeast' });

    expect(result).toMatchObject({ granted: 0, credits: 9 });
    expect(unmatched).toEqual([]);
  });

  it('an Add grant whose answer is lost is remembered; the same grant is then refused, sending nothing', async () => {
    const cache = fakeCache();
    admin()
      .patch('/users', { email: EMAIL, amount: 5 })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));

    const lost = await failure(provision({ email: EMAIL, credits: 5, mode: 'add' }));
    const replay = await failure(provision({ email: EMAIL, credits: 5, mode: 'add' }));

    expect(payloadOf(lost)).toMatchObject({ code: 'MaybeApplied' });
    expect(payloadOf(replay)).toMatchObject({ code: 'MaybeApplied' });
    expect(cache.calls.map(({ method }) => method)).toEqual([
      'zcache_get',
      'zcache_set',
      'zcache_get',
    ]);
    expect(cache.calls[1]?.params[2]).toBe(GUARD_TTL_SECONDS);
    expect(unmatched).toEqual([]);
  });

  it('goes ahead when the guard cannot read the cache, and says so in the log', async () => {
    const cache = fakeCache();
    cache.failWhen(() => true);
    grantsOnce();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);

    try {
      const result = await provision({ email: EMAIL, credits: 5, mode: 'add' });

      expect(result).toEqual({ ...PROVISIONED, replayed: false, replayNote: null });
      expect(log.mock.calls.map((args) => String(args[0]))).toContainEqual(
        expect.stringMatching(
          /^Could not check for an earlier run that may have applied this change in Zapier's cache: /,
        ),
      );
    } finally {
      log.mockRestore();
    }
  });
});

describe('Provision Credits with an Idempotency Key', () => {
  it('claims the key (set-if-absent, scoped, namespaced), grants once, and records the output', async () => {
    const cache = fakeCache();
    grantsOnce();

    const result = await provision(GRANT);

    expect(result).toEqual({ ...PROVISIONED, replayed: false, replayNote: null });
    expect(
      cache.calls.map(({ method, params }) => [method, params[0], params[3], params[4]]),
    ).toEqual([
      ['zcache_set', PROVISION_KEY, ['user', 'auth'], true],
      ['zcache_set', PROVISION_KEY, ['user', 'auth'], false],
    ]);
    expect(cache.calls.map(({ params }) => params[2])).toEqual([KEY_TTL_SECONDS, KEY_TTL_SECONDS]);
    expect(cache.only()).toMatchObject({
      key: PROVISION_KEY,
      scope: SCOPE,
      value: { state: 'done', output: PROVISIONED },
    });
  });

  it('replays a finished key without sending anything, and says so', async () => {
    fakeCache();
    grantsOnce();
    await provision(GRANT);

    const again = await provision({
      email: ' JANE@example.com ',
      credits: '5',
      mode: 'add',
      idempotencyKey: ` ${KEY} `,
    });

    expect(again).toMatchObject({ ...PROVISIONED, replayed: true });
    expect(field(again, 'replayNote')).toMatch(
      /^Replayed the run of \d{4}-\d\d-\d\dT[\d:.]+Z with this Idempotency Key: nothing was sent now, and these values are that run's\.$/,
    );
    expect(unmatched).toEqual([]);
  });

  it('refuses the same key for a different request, sending nothing', async () => {
    const cache = fakeCache();
    grantsOnce();
    await provision(GRANT);

    const error = await failure(provision({ ...GRANT, credits: 7 }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(
      /^Idempotency Key "pi_3MtwBwLkdIwHu7ix28a3tqPa" was already used at \S+ for a different request \(other values in this step\), so this one sent nothing\. Map a key that is unique to each payment and step\.$/,
    );
    expect(stateOf(cache)).toBe('done');
    expect(unmatched).toEqual([]);
  });

  it('halts a duplicate that arrives while the first delivery is in progress; the first finishes', async () => {
    const cache = fakeCache();
    admin()
      .patch('/users', { email: EMAIL, amount: 5 })
      .delay(300)
      .reply(200, { email: EMAIL, credits: 6 });

    const first = provision(GRANT);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const duplicate = await failure(provision(GRANT));

    expect(duplicate.name).toBe('HaltedError');
    expect(messageOf(duplicate)).toMatch(IN_PROGRESS);
    expect(await first).toMatchObject({ replayed: false, credits: 6 });
    expect(stateOf(cache)).toBe('done');
    expect(unmatched).toEqual([]);
  });

  it('treats a pending entry older than a step can run as a run that died: check the account', async () => {
    const cache = fakeCache();
    grantsOnce();
    await provision({ ...GRANT, idempotencyKey: 'probe' });
    const request = field(
      cache.read(keyOf('admin', ADMIN_ORIGIN, 'provision_credits', 'probe'), SCOPE),
      'request',
    );
    cache.seed(PROVISION_KEY, SCOPE, {
      state: 'pending',
      run: 'a-run-that-died',
      request,
      since: new Date(Date.now() - PENDING_STALE_MS - 1000).toISOString(),
    });

    const error = await failure(provision(GRANT));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(CHECK_THE_ACCOUNT);
    expect(unmatched).toEqual([]);
  });

  it('releases the key when the API refuses the grant, so a retry can grant', async () => {
    const cache = fakeCache();
    admin()
      .patch('/users', { email: EMAIL, amount: 5 })
      .reply(422, 'Credits must be no more than 9007199254740991', {
        'Content-Type': 'text/plain',
      });

    const error = await failure(provision(GRANT));

    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): Credits must be no more than 9007199254740991',
    );
    expect(cache.only()).toBeUndefined();
    grantsOnce();
    await expect(provision(GRANT)).resolves.toMatchObject({ replayed: false, granted: 5 });
  });

  it('releases the key when the connection is refused (nothing left)', async () => {
    const cache = fakeCache();
    admin().patch('/users', { email: EMAIL, amount: 5 }).replyWithError(refused());

    const error = await failure(provision(GRANT));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(/refused the connection/);
    expect(cache.only()).toBeUndefined();
  });

  it('keeps the key as unknown when the answer to a grant is lost; replays halt', async () => {
    const cache = fakeCache();
    admin().patch('/users', { email: EMAIL, amount: 5 }).replyWithError(reset());

    const lost = await failure(provision(GRANT));
    const replay = await failure(provision(GRANT));

    expect(lost.name).toBe('AppError');
    expect(messageOf(lost)).toMatch(/may or may not have been applied/);
    expect(stateOf(cache)).toBe('unknown');
    expect(replay.name).toBe('AppError');
    expect(messageOf(replay)).toMatch(CHECK_THE_ACCOUNT);
    expect(unmatched).toEqual([]);
  });

  it('releases the key in Top Up mode even when an answer is lost: a replay reads the balance first', async () => {
    const cache = fakeCache();
    admin()
      .get('/users')
      .query({ email: EMAIL })
      .twice()
      .reply(200, [{ email: EMAIL, credits: 1 }]);
    admin().patch('/users', { email: EMAIL, amount: 4 }).replyWithError(reset());
    admin().patch('/users', { email: EMAIL, amount: 4 }).reply(200, { email: EMAIL, credits: 5 });
    const topUp = { email: EMAIL, credits: 5, mode: 'atLeast', idempotencyKey: KEY };

    const lost = await failure(provision(topUp));
    const retried = await provision(topUp);

    expect(lost.name).toBe('AppError');
    expect(retried).toMatchObject({ credits: 5, granted: 4, replayed: false });
    expect(stateOf(cache)).toBe('done');
  });

  it('halts when Zapier answers the claim with anything but true and no entry is found', async () => {
    const cache = fakeCache();
    cache.claimAnswers(false, false);

    const error = await failure(provision(GRANT));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Idempotency Key "pi_3MtwBwLkdIwHu7ix28a3tqPa": a delivery with this key is in progress or has just ended, so this one sent nothing. Replay this run in a minute: it will return that delivery\'s result, or make the change.',
    );
    expect(unmatched).toEqual([]);
  });

  it('goes on when the claim was stored but answered otherwise (a retried RPC call): the entry is its own', async () => {
    const cache = fakeCache();
    cache.claimAnswers(null, true);
    grantsOnce();

    await expect(provision(GRANT)).resolves.toMatchObject({ replayed: false, granted: 5 });
    expect(stateOf(cache)).toBe('done');
  });

  it('treats an entry it cannot read as taken, and asks to check the account', async () => {
    const cache = fakeCache();
    cache.seed(PROVISION_KEY, SCOPE, {
      state: 'done',
      request: 'x',
      at: 'then',
      output: [1],
      withheld: [],
    });
    const unreadable = await failure(provision(GRANT));
    cache.seed(PROVISION_KEY, SCOPE, 'not an entry');
    const text = await failure(provision(GRANT));

    for (const error of [unreadable, text]) {
      expect(error.name).toBe('AppError');
      expect(messageOf(error)).toMatch(
        /^Idempotency Key "pi_3MtwBwLkdIwHu7ix28a3tqPa": Zapier's cache holds something for this key that is not this integration's record, so this run sent nothing\. Check the account: /,
      );
    }
    expect(unmatched).toEqual([]);
  });

  it('fails as an error Zapier may retry when the cache cannot be reached, sending nothing', async () => {
    const cache = fakeCache();
    cache.failWhen(({ method }) => method === 'zcache_set');

    const error = await failure(provision(GRANT));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Zapier's cache could not be reached to check the Idempotency Key, so nothing was sent. Try again later. (RPC request failed after 1 attempts: the cache is down)",
    );
    expect(unmatched).toEqual([]);
  });

  it('returns the grant even when the cache fails to record it; a replay then halts', async () => {
    const cache = fakeCache();
    grantsOnce();
    cache.failWhen(({ method, params }) => method === 'zcache_set' && params[4] === false);

    const granted = await provision(GRANT);
    const replay = await failure(provision(GRANT));

    expect(granted).toMatchObject({ replayed: false, granted: 5 });
    expect(stateOf(cache)).toBe('pending');
    expect(messageOf(replay)).toMatch(IN_PROGRESS);
    expect(unmatched).toEqual([]);
  });

  it('lets the API’s refusal through even when the cache fails to release the key', async () => {
    const cache = fakeCache();
    admin().patch('/users', { email: EMAIL, amount: 5 }).reply(404, 'Email is nonexistent', {
      'Content-Type': 'text/plain',
    });
    admin()
      .post('/users', { email: EMAIL, credits: 5 })
      .reply(422, 'Email must be a valid address', {
        'Content-Type': 'text/plain',
      });
    cache.failWhen(({ method }) => method === 'zcache_delete');

    const error = await failure(provision(GRANT));

    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): Email must be a valid address',
    );
    expect(stateOf(cache)).toBe('pending');
  });

  it('refuses a key longer than Stripe allows, before any request', async () => {
    const error = await failure(
      provision({ ...GRANT, idempotencyKey: 'k'.repeat(MAX_KEY_CHARS + 1) }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `Idempotency Key: is ${MAX_KEY_CHARS + 1} characters long; the limit is ${MAX_KEY_CHARS}. Map an ID, such as the payment's.`,
    );
  });
});

describe('Add User with an Idempotency Key', () => {
  it('keeps no token: a replay returns the account with an empty token and says why', async () => {
    const cache = fakeCache();
    admin()
      .post('/users', { email: EMAIL, credits: 100 })
      .reply(201, { email: EMAIL, token: TOKEN, credits: 100 });

    const first = await addUser(adminAuth, { email: EMAIL, credits: 100, idempotencyKey: KEY });
    const again = await addUser(adminAuth, { email: EMAIL, credits: '100', idempotencyKey: KEY });

    expect(first).toMatchObject({ token: TOKEN, replayed: false, replayNote: null });
    expect(again).toMatchObject({ email: EMAIL, credits: 100, token: null, replayed: true });
    expect(field(again, 'replayNote')).toMatch(
      /nothing was sent now, and these values are that run's\. Account API Token: given only by that run, so empty here\.$/,
    );
    expect(JSON.stringify(cache.read(ADD_USER_KEY, SCOPE))).not.toContain(TOKEN);
    expect(unmatched).toEqual([]);
  });

  it('keeps the key as unknown when the account was created but the answer was unreadable', async () => {
    const cache = fakeCache();
    admin().post('/users', { email: EMAIL }).reply(201, { email: EMAIL, credits: 0 });

    const error = await failure(addUser(adminAuth, { email: EMAIL, idempotencyKey: KEY }));

    expect(messageOf(error)).toMatch(/answered without the new account's token/);
    expect(stateOf(cache, ADD_USER_KEY)).toBe('unknown');
  });

  it('keeps the key as unknown when the answer is lost, and a replay says to check the account', async () => {
    const cache = fakeCache();
    admin().post('/users', { email: EMAIL }).replyWithError(reset());

    const lost = await failure(addUser(adminAuth, { email: EMAIL, idempotencyKey: KEY }));
    const replay = await failure(addUser(adminAuth, { email: EMAIL, idempotencyKey: KEY }));

    expect(lost.name).toBe('AppError');
    expect(stateOf(cache, ADD_USER_KEY)).toBe('unknown');
    expect(messageOf(replay)).toMatch(CHECK_THE_ACCOUNT);
  });

  it('releases the key when the account already exists (409): nothing was applied', async () => {
    const cache = fakeCache();
    admin()
      .post('/users', { email: EMAIL })
      .reply(409, 'Email already exists', { 'Content-Type': 'text/plain' });

    const error = await failure(addUser(adminAuth, { email: EMAIL, idempotencyKey: KEY }));

    expect(error.name).toBe('AppError');
    expect(cache.only()).toBeUndefined();
  });

  it('on Deal.ai: replays the user, and tells a changed role apart as another request', async () => {
    fakeCache();
    dealai()
      .post('/users', {
        firstName: 'Jane',
        email: EMAIL,
        sendInviteEmail: 'yes',
        role: 'Basic Plan',
      })
      .reply(200, {
        message: 'User added',
        email: EMAIL,
        firstName: 'Jane',
        lastName: null,
        role: 'Basic Plan',
      });
    const input = {
      firstName: 'Jane',
      email: EMAIL,
      sendInviteEmail: 'true',
      role: 'Basic Plan',
      idempotencyKey: KEY,
    };

    const first = await addUser(dealaiAuth, input);
    const again = await addUser(dealaiAuth, input);
    const other = await failure(addUser(dealaiAuth, { ...input, role: 'Premium Plan' }));

    expect(first).toMatchObject({ provider: 'dealai', role: 'Basic Plan', replayed: false });
    expect(field(again, 'replayNote')).toMatch(/these values are that run's\.$/);
    expect(again).toMatchObject({ provider: 'dealai', role: 'Basic Plan', replayed: true });
    expect(Object.keys(again ?? {}).sort()).toEqual(Object.keys(first ?? {}).sort());
    expect(messageOf(other)).toMatch(/for a different request/);
    expect(unmatched).toEqual([]);
  });

  it('never shares a key between actions, providers or Base URLs', () => {
    const keys = [
      PROVISION_KEY,
      ADD_USER_KEY,
      keyOf('dealai', `${DEALAI_ORIGIN}${DEALAI_PATH}`, 'add_user'),
      keyOf('admin', 'https://staging.agentfirst.dev', 'add_user'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
