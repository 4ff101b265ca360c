/**
 * Replays: Zapier runs a step again when a Zap is replayed, when the same trigger event arrives
 * twice, or when a search-or-create runs its search and then its create. Against an in-memory
 * fake of both APIs (state in Maps, answered by nock reply functions that still require the key
 * header), each step run twice must leave the account as if it ran once, or, where the API
 * cannot make that possible (granting credits), stop the run instead of granting twice.
 */
import nock from 'nock';

import App from '../../index';
import { REQUEST_TIMEOUT_MS } from '../../src/client';
import {
  admin,
  adminAuth,
  dealai,
  dealaiAuth,
  dealaiWithInvalidKey,
  failure,
  messageOf,
  payloadOf,
  run,
} from '../helpers';
import { execute } from '../support/lambda';
import { RUN, allowLogStream, fakeCache } from '../support/zcache';
import { ROUTES, recordRoutes } from './support';
import type { Sent } from './support';

const addUser = App.creates.add_user;
const provision = App.creates.provision_credits;
const removeUser = App.creates.remove_user;
const findUser = App.searches.find_user;

interface Account {
  email: string;
  credits: number;
}

const text = (status: number, body: string): nock.ReplyFnResult => [
  status,
  body,
  { 'Content-Type': 'text/plain' },
];

const field = (request: Sent, key: string): unknown => {
  if (typeof request.body !== 'object' || request.body === null) {
    return undefined;
  }
  const value: unknown = Reflect.get(request.body, key);
  return value;
};

/** The administration API as its OpenAPI document describes it; emails are case-insensitive. */
class FakeAdminApi {
  readonly accounts = new Map<string, Account>();
  readonly requests: Sent[] = [];

  constructor(delayMs: Record<string, number> = {}) {
    recordRoutes(admin(), ROUTES.admin, this.requests, (request) => this.answer(request), delayMs);
  }

  count(method: string): number {
    return this.requests.filter((request) => request.method === method).length;
  }

  seed(email: string, credits: number): void {
    this.accounts.set(email.toLowerCase(), { email: email.toLowerCase(), credits });
  }

  /** Applies a grant as the API would, for a request whose answer is lost on the way back. */
  grant(request: Sent): void {
    this.answer(request);
  }

  private answer(request: Sent): nock.ReplyFnResult {
    const raw = request.method === 'GET' ? request.query.email : [field(request, 'email')];
    const emails = (raw ?? []).map((email) =>
      typeof email === 'string' ? email.toLowerCase() : '',
    );
    const [email = ''] = emails;
    const account = this.accounts.get(email);
    switch (`${request.method} ${request.path}`) {
      case 'GET /users':
        return [
          200,
          [...this.accounts.values()].filter(
            (item) => emails.length === 0 || emails.includes(item.email),
          ),
        ];
      case 'POST /users': {
        if (account !== undefined) {
          return text(409, 'Account already exists');
        }
        const credits = field(request, 'credits');
        const created = { email, credits: typeof credits === 'number' ? credits : 0 };
        this.accounts.set(email, created);
        return [201, { ...created, token: `a1-token-${String(this.accounts.size)}` }];
      }
      case 'PATCH /users': {
        const amount = field(request, 'amount');
        if (account === undefined) {
          return text(404, 'Account does not exist');
        }
        account.credits += typeof amount === 'number' ? amount : 0;
        return [200, { ...account }];
      }
      case 'DELETE /users':
        if (account === undefined) {
          return text(404, 'Account does not exist');
        }
        this.accounts.delete(email);
        return [200, { email, credits: 0 }];
      default:
        return [200, [{ email: 'owner@example.com', credits: 0 }]];
    }
  }
}

/** Deal.ai's user routes; documents no 200 bodies, errors as JSON. */
class FakeDealai {
  readonly users = new Map<string, string | undefined>();
  readonly requests: Sent[] = [];
  /** Requests with a key that cannot be valid: refused, as the real routes check the key. */
  readonly invalidKey: Sent[] = [];

  constructor() {
    recordRoutes(dealaiWithInvalidKey(), ROUTES.dealai, this.invalidKey, () => [
      403,
      { error: 'Invalid API key' },
    ]);
    recordRoutes(dealai(), ROUTES.dealai, this.requests, (request) => {
      const value = field(request, 'email');
      const email = typeof value === 'string' ? value.toLowerCase() : '';
      const exists = this.users.has(email);
      if (request.method === 'POST') {
        if (exists) {
          return [409, { error: 'User already exists' }];
        }
        const role = field(request, 'role');
        this.users.set(email, typeof role === 'string' ? role : undefined);
        return [200, { message: 'User created' }];
      }
      if (!exists) {
        return [404, { error: 'User not found' }];
      }
      if (request.method === 'DELETE') {
        this.users.delete(email);
      }
      return [200, { message: 'OK' }];
    });
  }
}

/**
 * The fakes persist an interceptor per route, used or not; drop them before helpers.ts checks
 * for unused mocks (a describe's afterEach runs before the file-level ones).
 */
const cleanUp = () => {
  afterEach(() => {
    jest.useRealTimers();
    nock.abortPendingRequests();
    nock.cleanAll();
  });
};

describe('Find or Add User', () => {
  cleanUp();

  /** What Zapier does for a search-or-create step: the search, then the create when it finds none. */
  const findOrAdd = async (input: Record<string, unknown>) => {
    const found = await run(findUser, adminAuth, input);
    const accounts: unknown[] = Array.isArray(found) ? found : [];
    if (accounts.length > 0) {
      return { found: accounts[0], created: undefined };
    }
    return { found: undefined, created: await run(addUser, adminAuth, input) };
  };

  it('is the Find User search and the Add User create', () => {
    expect(App.searchOrCreates?.find_user).toMatchObject({
      search: 'find_user',
      create: 'add_user',
    });
  });

  it('run twice creates one user; the second run finds it', async () => {
    const api = new FakeAdminApi();

    const first = await findOrAdd({ email: 'jane@example.com', credits: 100 });
    const second = await findOrAdd({ email: 'jane@example.com', credits: 100 });

    expect(first).toMatchObject({
      found: undefined,
      created: { email: 'jane@example.com', credits: 100 },
    });
    expect(second).toEqual({
      found: { email: 'jane@example.com', credits: 100 },
      created: undefined,
    });
    expect(api.count('POST')).toBe(1);
    expect(api.count('GET')).toBe(2);
    expect([...api.accounts.values()]).toEqual([{ email: 'jane@example.com', credits: 100 }]);
  });

  it('finds the user again when the replay spells the address differently', async () => {
    const api = new FakeAdminApi();

    await findOrAdd({ email: 'Jane@Example.com' });
    const second = await findOrAdd({ email: '  JANE@example.COM ' });

    expect(second.found).toEqual({ email: 'jane@example.com', credits: 0 });
    expect(api.count('POST')).toBe(1);
    expect(api.accounts.size).toBe(1);
  });
});

describe('Remove User with Succeed If Already Gone', () => {
  cleanUp();

  it.each([
    ['the Administration API', adminAuth, 'admin', { credits: 0 }, { credits: null }],
    ['Deal.ai', dealaiAuth, 'dealai', {}, {}],
  ] as const)(
    'on %s, run twice succeeds twice; the second run removed nothing',
    async (_title, auth, provider, credits, noCredits) => {
      const adminApi = new FakeAdminApi();
      const dealaiApi = new FakeDealai();
      adminApi.seed('jane@example.com', 250);
      dealaiApi.users.set('jane@example.com', 'Premium Plan');
      const input = { email: 'jane@example.com', ignoreMissing: true };

      const first = await run(removeUser, auth, input);
      const second = await run(removeUser, auth, input);

      expect(first).toEqual({
        provider,
        email: 'jane@example.com',
        removed: true,
        ...credits,
        stale: false,
        staleNote: null,
      });
      expect(second).toEqual({
        provider,
        email: 'jane@example.com',
        removed: false,
        ...noCredits,
        stale: false,
        staleNote: null,
      });
      const sent = provider === 'admin' ? adminApi.requests : dealaiApi.requests;
      expect(sent.map((request) => request.method)).toEqual(['DELETE', 'DELETE']);
      // Deal.ai documents no 404 body: the "already gone" is proved by the route refusing a key
      // that cannot be valid, one request more in that case only.
      expect(dealaiApi.invalidKey.map((request) => request.method)).toEqual(
        provider === 'dealai' ? ['DELETE'] : [],
      );
      expect(provider === 'admin' ? adminApi.accounts.size : dealaiApi.users.size).toBe(0);
    },
  );
});

describe('Provision Credits, Top Up', () => {
  cleanUp();

  const topUp = { email: 'jane@example.com', credits: 100, mode: 'atLeast' };

  it('run twice grants once', async () => {
    const api = new FakeAdminApi();
    api.seed('jane@example.com', 40);

    const first = await run(provision, adminAuth, topUp);
    const second = await run(provision, adminAuth, topUp);

    const balance = {
      email: 'jane@example.com',
      credits: 100,
      created: false,
      mode: 'atLeast',
      replayed: false,
      replayNote: null,
    };
    expect(first).toEqual({ ...balance, granted: 60 });
    expect(second).toEqual({ ...balance, granted: 0 });
    expect(api.requests.map((request) => request.method)).toEqual(['GET', 'PATCH', 'GET']);
    expect(api.accounts.get('jane@example.com')?.credits).toBe(100);
  });

  it('run twice for a new user creates the account once and then grants nothing', async () => {
    const api = new FakeAdminApi();

    const first = await run(provision, adminAuth, topUp);
    const second = await run(provision, adminAuth, topUp);

    expect(first).toMatchObject({ credits: 100, granted: 100, created: true });
    expect(second).toMatchObject({ credits: 100, granted: 0, created: false });
    expect(api.requests.map((request) => request.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('(by contrast, Add grants every time it runs, as its help text says)', async () => {
    const api = new FakeAdminApi();
    api.seed('jane@example.com', 40);
    const add = { ...topUp, credits: 50, mode: 'add' };

    await run(provision, adminAuth, add);
    await run(provision, adminAuth, add);

    expect(api.accounts.get('jane@example.com')?.credits).toBe(140);
  });
});

describe('Provision Credits, Add, when the answer to a grant is lost', () => {
  cleanUp();

  const add = { email: 'jane@example.com', credits: 50, mode: 'add' };
  const MAY_HAVE =
    'so the change may or may not have been applied. Check the account before replaying this step, so that nothing is done twice.';

  /**
   * Runs the step on the fake clock: lets `requests` requests reach the API (real I/O), then moves
   * the clock past the timeout of the last one, whose answer the fake holds back.
   */
  const runPastTimeout = async (
    api: FakeAdminApi,
    input: Record<string, unknown>,
    requests: number,
  ) => {
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance'],
    });
    const outcome = failure(run(provision, adminAuth, input));
    for (let i = 0; i < 1000 && api.requests.length < requests; i += 1) {
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
    }
    await jest.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS + 1_000);
    return outcome;
  };

  it('a grant that times out halts the run, saying it may have been applied; no second PATCH', async () => {
    // The API applies the grant at once; its answer arrives long after the 12 s timeout.
    const api = new FakeAdminApi({ 'PATCH /users': REQUEST_TIMEOUT_MS + 60_000 });
    api.seed('jane@example.com', 40);

    const error = await runPastTimeout(api, add, 1);

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `Administration API at api.agentfirst.dev did not answer within 12 seconds, ${MAY_HAVE}`,
    );
    expect(api.requests.map((request) => request.method)).toEqual(['PATCH']);
    expect(api.accounts.get('jane@example.com')?.credits).toBe(90);
  });

  it("Zapier's replay of that errored run (no Idempotency Key) sends nothing and says why", async () => {
    const api = new FakeAdminApi({ 'PATCH /users': REQUEST_TIMEOUT_MS + 60_000 });
    api.seed('jane@example.com', 40);
    const error = await runPastTimeout(api, add, 1);
    expect(payloadOf(error)).toMatchObject({ code: 'MaybeApplied' });
    jest.useRealTimers();

    const replay = await failure(run(provision, adminAuth, add));
    const again = await failure(run(provision, adminAuth, add));

    for (const refused of [replay, again]) {
      expect(refused.name).toBe('AppError');
      expect(payloadOf(refused)).toMatchObject({ code: 'MaybeApplied' });
      expect(messageOf(refused)).toMatch(
        /^A run of this same step with these values at \S+ may have applied its change without an answer, so this one sent nothing\. Check the account/,
      );
    }
    expect(api.requests.map((request) => request.method)).toEqual(['PATCH']);
    expect(api.accounts.get('jane@example.com')?.credits).toBe(90);
  });

  it('a grant whose connection drops halts the run the same way; no second PATCH', async () => {
    // The API applies the grant, then the connection drops before the answer. This one-off
    // interceptor is registered before the fake's, so it takes the first PATCH.
    let drops = 0;
    const dropped = admin()
      .patch('/users')
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const api = new FakeAdminApi();
    api.seed('jane@example.com', 40);
    dropped.on('request', () => {
      drops += 1;
      api.grant({
        method: 'PATCH',
        path: '/users',
        query: {},
        body: { email: add.email, amount: 50 },
      });
    });

    const error = await failure(run(provision, adminAuth, add));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `Administration API at api.agentfirst.dev dropped the connection (ECONNRESET), ${MAY_HAVE}`,
    );
    expect(drops).toBe(1);
    expect(api.requests).toEqual([]); // no other request: no second PATCH
    expect(api.accounts.get('jane@example.com')?.credits).toBe(90);
  });

  it('creating the account for a new user that times out halts too; no second POST', async () => {
    const api = new FakeAdminApi({ 'POST /users': REQUEST_TIMEOUT_MS + 60_000 });

    const error = await runPastTimeout(api, add, 2);

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(
      /did not answer within 12 seconds, so the change may or may not/,
    );
    expect(api.requests.map((request) => request.method)).toEqual(['PATCH', 'POST']);
    expect([...api.accounts.values()]).toEqual([{ email: 'jane@example.com', credits: 50 }]);
  });
});

/**
 * Zapier replays a step that ended in an error (Autoreplay, or the owner's replay): for each kind
 * of error a Provision Credits grant can end in, the first run fails, then the same step runs
 * again with the API healthy. The grant is never applied twice, with or without an Idempotency
 * Key: an error that came before anything was applied replays into one grant; one that came
 * after a write that was, or may have been, applied replays into a refusal that sends nothing.
 */
describe("Zapier's replay of each kind of error a grant can end in", () => {
  cleanUp();
  // As on Lambda, with Zapier's cache behind the event's rpc_base (set-if-absent honoured; the
  // in-memory stand-in of the unit tests ignores it).
  beforeEach(allowLogStream);
  const provisionRun = (inputData: Record<string, unknown>) =>
    execute('creates.provision_credits.operation.perform', { authData: adminAuth, inputData }, RUN);

  const EMAIL = 'jane@example.com';
  const grantOf = (key: boolean) => ({
    email: EMAIL,
    credits: '50',
    mode: 'add',
    ...(key ? { idempotencyKey: 'pi_replay' } : {}),
  });
  const connectionError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

  /** The first PATCH's fate; `applied`: whether the API applied it before answering. */
  const KINDS = [
    [
      'ApiClientError (422)',
      'ApiClientError',
      false,
      () => admin().patch('/users').reply(422, 'Amount must be a positive integer'),
    ],
    [
      'ApiServerError (500)',
      'ApiServerError',
      false,
      () => admin().patch('/users').reply(500, 'Unknown error occurred'),
    ],
    [
      'ThrottledError (429)',
      undefined,
      false,
      () => admin().patch('/users').reply(429, 'Rate limit was exceeded', { 'Retry-After': '5' }),
    ],
    [
      'ApiUnreachable (connection refused)',
      'ApiUnreachable',
      false,
      () => admin().patch('/users').replyWithError(connectionError('ECONNREFUSED')),
    ],
    [
      'WrongBaseUrl (a router 404)',
      'WrongBaseUrl',
      false,
      () => admin().patch('/users').reply(404, { error: 'Not Found' }),
    ],
    [
      'MaybeApplied (the connection dropped)',
      'MaybeApplied',
      true,
      () => admin().patch('/users').replyWithError(connectionError('ECONNRESET')),
    ],
    [
      'UnexpectedResponse (a 200 without the account)',
      'UnexpectedResponse',
      true,
      () => admin().patch('/users').reply(200, 'OK'),
    ],
  ] as const;

  it.each(
    KINDS.flatMap(([title, code, applied, first]) =>
      [true, false].map(
        (key) => [title, key ? 'with' : 'without', code, applied, first, key] as const,
      ),
    ),
  )(
    '%s, %s an Idempotency Key: the replay never grants twice',
    async (_title, _with, code, applied, first, key) => {
      fakeCache();
      first();
      const api = new FakeAdminApi();
      api.seed(EMAIL, 100);

      const error = await failure(provisionRun(grantOf(key)));
      if (code === undefined) {
        expect(error.name).toBe('ThrottledError');
      } else {
        expect(error.name).toBe('AppError');
        expect(payloadOf(error)).toMatchObject({ code });
      }
      if (applied) {
        // What the API did before its answer was lost or unreadable.
        api.grant({
          method: 'PATCH',
          path: '/users',
          query: {},
          body: { email: EMAIL, amount: 50 },
        });
      }

      const replay = await provisionRun(grantOf(key)).then(
        (output) => ({ output }),
        (failed: unknown) => ({ failed }),
      );

      expect(api.accounts.get(EMAIL)?.credits).toBe(150);
      if (applied) {
        expect(replay).toMatchObject({ failed: expect.any(Error) as unknown });
        const refusal =
          'failed' in replay && replay.failed instanceof Error ? replay.failed : new Error();
        expect(payloadOf(refusal)).toMatchObject({ code: 'MaybeApplied' });
        expect(messageOf(refusal)).toMatch(/sent nothing/);
        expect(api.requests).toEqual([]);
      } else {
        expect(replay).toEqual({
          output: expect.objectContaining({ credits: 150, granted: 50 }) as unknown,
        });
        expect(api.count('PATCH')).toBe(1);
      }
    },
  );
});
