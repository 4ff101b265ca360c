import { emailPrint } from '../../src/memory';
import type { Account } from '../../src/records';
import {
  newUser,
  MAX_ITEMS,
  REPEATS,
  packNewUser,
  stepNewUser,
  unpackNewUser,
} from '../../src/triggers/new-user';
import {
  admin,
  adminAuth,
  inApp,
  cached,
  callable,
  dealaiAuth,
  failure,
  messageOf,
  resetCache,
  unmatched,
  uncache,
} from '../helpers';
import { dropCacheWrites } from '../support/cache-faults';
import { zapOf } from '../support/zap';
import type { Meta } from '../support/zap';

// The typings give a trigger's operation as polling or hook; this one polls.
const perform = callable(Reflect.get(newUser.operation, 'perform'));

afterEach(() => {
  jest.restoreAllMocks();
});

const cache = (): Record<string, unknown> => ({ ...cached() });

const user = (name: string, credits = 0): Account => ({ email: `${name}@example.com`, credits });

/** One poll of the trigger as Zapier runs it, against these accounts (GET /users). */
const pollOf =
  (accounts: () => Account[]) =>
  (meta: Meta): Promise<unknown> => {
    admin().get('/users').reply(200, accounts());
    return inApp(perform, { authData: adminAuth, inputData: {}, meta });
  };

describe('stepNewUser (the memory between polls)', () => {
  it('starts knowing every account listed, returning none', () => {
    const step = stepNewUser(undefined, [user('ann'), user('bob')]);

    expect(step.items).toEqual([]);
    expect([...step.memory.values()]).toEqual([REPEATS, REPEATS]);
  });

  it(`returns a new account, newest first, in ${String(REPEATS)} polls`, () => {
    let memory = stepNewUser(undefined, [user('ann')]).memory;
    const polls: string[][] = [];
    for (let poll = 0; poll <= REPEATS; poll += 1) {
      const step = stepNewUser(memory, [user('ann'), user('Bob', 5), user('cat')]);
      polls.push(step.items.map((item) => item.id));
      memory = step.memory;
    }

    expect(polls).toEqual([
      ['cat@example.com', 'bob@example.com'],
      ['cat@example.com', 'bob@example.com'],
      ['cat@example.com', 'bob@example.com'],
      [],
    ]);
    expect(stepNewUser(new Map(), [user('Bob', 5)]).items).toEqual([
      { id: 'bob@example.com', email: 'bob@example.com', credits: 5 },
    ]);
  });

  it('forgets a removed account: if it comes back, it is new again', () => {
    const first = stepNewUser(undefined, [user('ann')]).memory;
    const gone = stepNewUser(first, []).memory;
    const back = stepNewUser(gone, [user('ann')]);

    expect(gone.size).toBe(0);
    expect(back.items.map((item) => item.id)).toEqual(['ann@example.com']);
  });

  it('counts an account listed twice once', () => {
    const step = stepNewUser(new Map(), [user('ann'), { email: 'ANN@example.com', credits: 1 }]);

    expect(step.items).toHaveLength(1);
  });

  it(`returns at most ${String(MAX_ITEMS)} per poll, the ones not yet returned first`, () => {
    const many = Array.from({ length: MAX_ITEMS + 10 }, (_, index) => user(`u${String(index)}`));
    const first = stepNewUser(new Map(), many);
    const second = stepNewUser(first.memory, many);

    expect(first.items).toHaveLength(MAX_ITEMS);
    expect(first.items[0]?.id).toBe(`u${String(MAX_ITEMS + 9)}@example.com`);
    const firstIds = new Set(first.items.map((item) => item.id));
    expect(second.items.filter((item) => !firstIds.has(item.id))).toHaveLength(10);
  });

  it('packs 50,000 accounts into 8 characters each, without their emails', () => {
    const many = Array.from({ length: 50_000 }, (_, index) => user(`user${String(index)}`));
    const stored = packNewUser(stepNewUser(undefined, many).memory);
    const text = JSON.stringify(stored);

    expect(text.length).toBeLessThan(50_000 * 8 + 100);
    expect(text).not.toContain('example.com');
    expect(unpackNewUser(JSON.parse(text))).toEqual(stepNewUser(undefined, many).memory);
  });

  it.each([
    ['nothing', undefined],
    ["the previous release's version (SHA-256 fingerprints)", { v: 1, accounts: {} }],
    ['a split memory (read by tableMemory)', { v: 2, pieces: 3, accounts: {} }],
    ['a bad group', { v: 2, pieces: 0, accounts: { 3: 'AAAA' } }],
    ['a bad state', { v: 2, pieces: 0, accounts: { 9: 'AAAAAAAA' } }],
    ['a state that is not a number', { v: 2, pieces: 0, accounts: { x: 'AAAAAAAA' } }],
  ])('reads %s as no memory', (_case, stored) => {
    expect(unpackNewUser(stored)).toBeUndefined();
  });
});

describe('New User, polled as Zapier polls', () => {
  it('fires once for each account that appears, and never for those there when turned on', async () => {
    const accounts = [user('ann'), user('bob')];
    const zap = zapOf(pollOf(() => accounts));

    expect(await zap.turnOn()).toEqual([]);
    expect(await zap.poll()).toEqual([]);
    accounts.push(user('Cat', 100));
    expect(await zap.poll()).toEqual([
      { id: 'cat@example.com', email: 'cat@example.com', credits: 100 },
    ]);
    for (let poll = 1; poll <= REPEATS; poll += 1) {
      expect(await zap.poll()).toEqual([]);
    }
    expect(zap.lastPoll()).toEqual([]);
  });

  it('makes up for a lost poll: a new account is returned again by the next polls', async () => {
    const accounts = [user('ann')];
    const zap = zapOf(pollOf(() => accounts));
    await zap.turnOn();
    accounts.push(user('bob'));

    await pollOf(() => accounts)({});

    expect(await zap.poll()).toEqual([expect.objectContaining({ id: 'bob@example.com' })]);
  });

  it('returns new accounts even when its memory cannot be saved: their IDs do not change', async () => {
    const accounts = [user('ann')];
    const zap = zapOf(pollOf(() => accounts));
    await zap.turnOn();
    accounts.push(user('bob'));
    dropCacheWrites();

    expect(await zap.poll()).toEqual([expect.objectContaining({ id: 'bob@example.com' })]);
    expect(await zap.poll()).toEqual([]);
    expect(zap.lastPoll()).toEqual([expect.objectContaining({ id: 'bob@example.com' })]);
  });

  it('fails the poll when it cannot remember the accounts it starts from', async () => {
    dropCacheWrites(1);

    const error = await failure(zapOf(pollOf(() => [user('ann')])).turnOn());

    expect(messageOf(error)).toBe(
      'New User could not store the list of accounts it has seen, so it cannot tell new ones yet. Zapier will try again at the next poll.',
    );
  });

  it('starts afresh when its memory is lost: accounts added meanwhile do not fire', async () => {
    const accounts = [user('ann')];
    const zap = zapOf(pollOf(() => accounts));
    await zap.turnOn();
    accounts.push(user('bob'));
    resetCache();

    expect(await zap.poll()).toEqual([]);
    accounts.push(user('cat'));
    expect(await zap.poll()).toEqual([expect.objectContaining({ id: 'cat@example.com' })]);
  });

  it('shows the three newest accounts as samples, and remembers nothing', async () => {
    admin()
      .get('/users')
      .reply(200, [user('a'), user('b'), user('c'), user('d')]);

    const items = await inApp(perform, {
      authData: adminAuth,
      inputData: {},
      meta: { isLoadingSample: true },
    });

    expect(items).toEqual([
      expect.objectContaining({ id: 'd@example.com' }),
      expect.objectContaining({ id: 'c@example.com' }),
      expect.objectContaining({ id: 'b@example.com' }),
    ]);
    expect(cache()).toEqual({});
  });

  it('reports an answer that is not a list of accounts', async () => {
    admin().get('/users').reply(200, { users: [] });

    const error = await failure(inApp(perform, { authData: adminAuth, inputData: {} }));

    expect(messageOf(error)).toMatch(/^The Administration API answered without a list of accounts/);
  });

  it('fails before any request on Deal.ai', async () => {
    const error = await failure(inApp(perform, { authData: dealaiAuth, inputData: {} }));

    expect(messageOf(error)).toBe(
      'New User works only with an Administration API connection; this connection uses the Deal.ai White Label, which offers Add User, Change Role and Remove User. Use one of those, remove this step, or choose an Administration API connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});

describe('New User reads GET /users as a stream', () => {
  const poll = () =>
    inApp(perform, { authData: adminAuth, inputData: {}, meta: { isPopulatingDedupe: true } });

  it('reports the API’s own words for a failed answer, as a buffered read would', async () => {
    admin().get('/users').reply(500, { message: 'Database unavailable' });

    const error = await failure(poll());

    expect(messageOf(error)).toBe(
      'Administration API failed on its side (HTTP 500): Database unavailable. Try again later.',
    );
  });

  it('asks Zapier to wait as long as a 429 says', async () => {
    admin().get('/users').reply(429, 'Slow down', { 'Retry-After': '30' });

    const error = await failure(poll());

    expect(error.name).toBe('ThrottledError');
    expect(messageOf(error)).toBe(
      'Administration API is limiting the request rate (HTTP 429): Slow down. Zapier will retry in 30 seconds.',
    );
  });

  it('refuses a web page', async () => {
    admin()
      .get('/users')
      .reply(200, '<html><title>Hi</title></html>', { 'Content-Type': 'text/html' });

    const error = await failure(poll());

    expect(messageOf(error)).toBe(
      "Administration API answered with a web page instead of the API (HTTP 200) at https://api.agentfirst.dev. Check the connection's Base URL.",
    );
  });

  it.each([
    ['cut short', '[{"email":"a@b.co","credits":1},{"email":'],
    ['not JSON', '[{"email":"a@b.co","credits":1} oops'],
    ['not a list', '{"users":[]}'],
    ['empty', ''],
    ['two lists', '[][]'],
    ['a list with an account missing its credits', '[{"email":"a@b.co"}]'],
  ])('reports an answer that is %s', async (_case, body) => {
    admin().get('/users').reply(200, body, { 'Content-Type': 'application/json' });

    const error = await failure(poll());

    expect(messageOf(error)).toBe(
      "The Administration API answered without a list of accounts (email and credits), which its documentation promises. Check the connection's Base URL.",
    );
    expect(cache()).toEqual({});
  });

  it('reads a long list in chunks, and remembers every account of it', async () => {
    const many = Array.from({ length: 30_000 }, (_, index) => user(`user${String(index)}`));
    admin().get('/users').reply(200, many);

    expect(await poll()).toEqual([]);
    admin()
      .get('/users')
      .reply(200, [...many, user('late')]);
    expect(await inApp(perform, { authData: adminAuth, inputData: {}, meta: {} })).toEqual([
      { id: 'late@example.com', email: 'late@example.com', credits: 0 },
    ]);
  });
});

describe('New User with its memory in pieces (a large site)', () => {
  // 8,000 accounts pack to 64 KB: past one value, so two pieces by fingerprint range.
  const SITE = Array.from({ length: 8_000 }, (_, index) => user(`member${String(index)}`));
  const pieceOf = (account: Account) => Math.floor((emailPrint(account.email) * 2) / 2 ** 48);
  /** New accounts, the first `count` whose fingerprint falls in piece `piece`. */
  const newcomers = (piece: number, count: number) =>
    Array.from({ length: 100 }, (_, index) => user(`newcomer${String(index)}`))
      .filter((account) => pieceOf(account) === piece)
      .slice(0, count);

  it('loses one piece alone: only accounts new in its range are missed, nothing fires twice', async () => {
    const accounts = [...SITE];
    const zap = zapOf(pollOf(() => accounts));
    await zap.turnOn();
    const pieces = Object.keys(cache()).filter((key) => key.includes(':accounts%3A2.'));
    expect(pieces).toHaveLength(2);
    const [lostOne, keptOne] = [newcomers(0, 1), newcomers(1, 1)];
    accounts.push(...lostOne, ...keptOne);

    uncache(pieces[0] ?? '');
    const fired = await zap.poll();

    // The lost range starts afresh, as a lost memory does: its newcomer is missed, and none of
    // the 4,000 or so accounts known there fires.
    expect(fired.map((item) => item.id)).toEqual(keptOne.map((account) => account.email));
    for (let poll = 0; poll < REPEATS + 1; poll += 1) {
      expect(await zap.poll()).toEqual([]);
    }
    const later = newcomers(0, 2).slice(1);
    accounts.push(...later);
    expect((await zap.poll()).map((item) => item.id)).toEqual(later.map((a) => a.email));
  });
});
