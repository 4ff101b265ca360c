import { cacheKey } from '../../src/cache';
import { emailPrint } from '../../src/memory';
import {
  creditsLow,
  MAX_ITEMS,
  REPEATS,
  packCreditsLow,
  stepCreditsLow,
  unpackCreditsLow,
} from '../../src/triggers/credits-low';
import type { CreditsLowMemory } from '../../src/triggers/credits-low';
import type { Account } from '../../src/records';
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
const perform = callable(Reflect.get(creditsLow.operation, 'perform'));

const T0 = Date.parse('2025-06-01T09:00:00Z');
const at = (minutes: number) => T0 + minutes * 60_000;
const iso = (epoch: number) => new Date(epoch).toISOString();

let clock = T0;
beforeEach(() => {
  clock = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
});
afterEach(() => {
  jest.restoreAllMocks();
});

const cache = (): Record<string, unknown> => ({ ...cached() });

/** One poll of the trigger as Zapier runs it, against these accounts (GET /users). */
const pollWith =
  (input: Record<string, unknown>, accounts: () => Account[]) =>
  (meta: Meta): Promise<unknown> => {
    admin().get('/users').reply(200, accounts());
    return inApp(perform, { authData: adminAuth, inputData: input, meta });
  };

describe('stepCreditsLow (the memory between polls)', () => {
  const jane = (credits: number): Account => ({ email: 'Jane@Example.com', credits });
  const fresh: CreditsLowMemory = { last: 0, below: new Map() };

  it('starts quiet: accounts already below are remembered, not returned', () => {
    const step = stepCreditsLow(undefined, [jane(5)], 10, T0);

    expect(step.items).toEqual([]);
    expect([...step.memory.below.values()]).toEqual([{ since: 0, shown: REPEATS }]);
  });

  it('returns a drop with an ID of the email and the time it was first seen below', () => {
    const step = stepCreditsLow(fresh, [jane(5), { email: 'ok@example.com', credits: 10 }], 10, T0);

    expect(step.items).toEqual([
      {
        id: 'jane@example.com#2025-06-01T09:00:00.000Z',
        email: 'jane@example.com',
        credits: 5,
        threshold: 10,
        belowSince: '2025-06-01T09:00:00.000Z',
      },
    ]);
    expect(step.known).toEqual([]);
    expect(step.memory.last).toBe(T0);
  });

  it(`keeps the ID while the account stays below, returning it in ${String(REPEATS)} polls`, () => {
    let memory = stepCreditsLow(fresh, [jane(5)], 10, at(0)).memory;
    const ids: string[][] = [];
    for (const [minute, credits] of [
      [1, 3],
      [2, 9],
      [3, 0],
    ] as const) {
      const step = stepCreditsLow(memory, [jane(credits)], 10, at(minute));
      ids.push(step.items.map((item) => item.id));
      expect(step.known).toEqual(step.items);
      memory = step.memory;
    }

    expect(ids).toEqual([
      ['jane@example.com#2025-06-01T09:00:00.000Z'],
      ['jane@example.com#2025-06-01T09:00:00.000Z'],
      [],
    ]);
  });

  it('forgets a recovered or removed account, so that its next drop gets a new ID', () => {
    const dropped = stepCreditsLow(fresh, [jane(5)], 10, at(0)).memory;
    const recovered = stepCreditsLow(dropped, [jane(10)], 10, at(1)).memory;
    const again = stepCreditsLow(recovered, [jane(2)], 10, at(2));
    const removed = stepCreditsLow(again.memory, [], 10, at(3)).memory;

    expect(recovered.below.size).toBe(0);
    expect(again.items.map((item) => item.id)).toEqual([
      'jane@example.com#2025-06-01T09:02:00.000Z',
    ]);
    expect(removed.below.size).toBe(0);
  });

  it('never hands out the same time twice, even when the clock does not move', () => {
    const first = stepCreditsLow(fresh, [jane(5)], 10, T0);
    const recovered = stepCreditsLow(first.memory, [jane(50)], 10, T0);
    const second = stepCreditsLow(recovered.memory, [jane(5)], 10, T0);

    expect(second.items[0]?.id).toBe('jane@example.com#2025-06-01T09:00:00.001Z');
  });

  it('counts an account listed twice once, whatever the case of its email', () => {
    const step = stepCreditsLow(
      fresh,
      [jane(5), { email: 'jane@example.com', credits: 4 }],
      10,
      T0,
    );

    expect(step.items).toHaveLength(1);
    expect(step.memory.below.size).toBe(1);
  });

  it(`returns at most ${String(MAX_ITEMS)} per poll, the ones not yet returned first`, () => {
    const many = Array.from({ length: MAX_ITEMS + 10 }, (_, index) => ({
      email: `user${String(index).padStart(5, '0')}@example.com`,
      credits: 0,
    }));
    const first = stepCreditsLow(fresh, many, 10, at(0));
    const second = stepCreditsLow(first.memory, many, 10, at(1));

    expect(first.items).toHaveLength(MAX_ITEMS);
    const firstIds = new Set(first.items.map((item) => item.id));
    const newInSecond = second.items.filter((item) => !firstIds.has(item.id));
    expect(newInSecond).toHaveLength(10);
    expect(second.items).toHaveLength(MAX_ITEMS);
  });

  it('packs into fingerprints grouped by state, and reads back the same memory', () => {
    const step = stepCreditsLow(fresh, [jane(5), { email: 'sam@example.com', credits: 1 }], 10, T0);
    const stored = packCreditsLow(step.memory);

    expect(stored).toMatchObject({ v: 2, last: T0 });
    expect(Object.keys(stored.below)).toEqual([`${String(T0)}.1`]);
    expect(stored.below[`${String(T0)}.1`]).toMatch(/^[\w-]{16}$/);
    expect(JSON.stringify(stored)).not.toContain('example.com');
    expect(unpackCreditsLow(JSON.parse(JSON.stringify(stored)))).toEqual(step.memory);
  });

  it.each([
    ['nothing', null],
    ['a list', []],
    ["the previous release's version (SHA-256 fingerprints)", { v: 1, last: 0, below: {} }],
    ['no time', { v: 2, pieces: 0, below: {} }],
    ['a bad group', { v: 2, pieces: 0, last: 0, below: { '1.0': 'short' } }],
    ['a bad state', { v: 2, pieces: 0, last: 0, below: { soon: 'AAAAAAAA' } }],
    ['a count of polls past 3', { v: 2, pieces: 0, last: 0, below: { '1.4': 'AAAAAAAA' } }],
  ])('reads %s as no memory', (_case, stored) => {
    expect(unpackCreditsLow(stored)).toBeUndefined();
  });
});

describe('Credits Running Low, polled as Zapier polls', () => {
  it('fires once when a user drops below, not again while below, and again after recovering', async () => {
    let jane = 150;
    const zap = zapOf(
      pollWith({ threshold: '100' }, () => [{ email: 'jane@example.com', credits: jane }]),
    );

    expect(await zap.turnOn()).toEqual([]);
    jane = 80;
    clock = at(5);
    expect(await zap.poll()).toEqual([
      {
        id: 'jane@example.com#2025-06-01T09:05:00.000Z',
        email: 'jane@example.com',
        credits: 80,
        threshold: 100,
        belowSince: '2025-06-01T09:05:00.000Z',
      },
    ]);
    jane = 20;
    clock = at(10);
    expect(await zap.poll()).toEqual([]);
    jane = 500;
    clock = at(15);
    expect(await zap.poll()).toEqual([]);
    jane = 90;
    clock = at(20);
    expect(await zap.poll()).toEqual([
      expect.objectContaining({ credits: 90, belowSince: iso(at(20)) }),
    ]);
  });

  it('does not fire for an account already below when the Zap is turned on, until it recovers and drops', async () => {
    let jane = 10;
    const zap = zapOf(
      pollWith({ threshold: 100 }, () => [{ email: 'jane@example.com', credits: jane }]),
    );

    await zap.turnOn();
    jane = 5;
    expect(await zap.poll()).toEqual([]);
    expect(zap.lastPoll()).toEqual([]);
    jane = 100;
    expect(await zap.poll()).toEqual([]);
    jane = 99;
    clock = at(1);
    expect(await zap.poll()).toEqual([
      expect.objectContaining({ email: 'jane@example.com', credits: 99 }),
    ]);
  });

  it('starts afresh when turned on again, and when its memory is lost', async () => {
    let credits = 200;
    const zap = zapOf(
      pollWith({ threshold: '100' }, () => [{ email: 'jane@example.com', credits }]),
    );
    await zap.turnOn();
    credits = 50;
    expect(await zap.poll()).toHaveLength(1);

    resetCache();
    expect(await zap.poll()).toEqual([]);
    credits = 40;
    expect(await zap.poll()).toEqual([]);

    await zap.turnOn();
    expect(await zap.poll()).toEqual([]);
  });

  it('keeps one memory per threshold, so that changing it fires nothing for accounts already below', async () => {
    const accounts = () => [{ email: 'jane@example.com', credits: 50 }];
    const at100 = zapOf(pollWith({ threshold: '100' }, accounts));
    await at100.turnOn();
    const at60 = zapOf(pollWith({ threshold: '60' }, accounts));

    expect(await at60.poll()).toEqual([]);
    const space = ['poll', 'credits_low', 'admin', 'https://api.agentfirst.dev', 'no-zap'];
    expect(Object.keys(cache())).toEqual([
      cacheKey(space, 'users:100'),
      cacheKey(space, 'users:60'),
    ]);
  });

  it("watches the connection's own account with GET /user", async () => {
    let credits = 5000;
    const zap = zapOf((meta) => {
      admin()
        .get('/user')
        .reply(200, [{ email: 'owner@example.com', credits }]);
      return inApp(perform, {
        authData: adminAuth,
        inputData: { threshold: '1,000', account: 'own' },
        meta,
      });
    });
    await zap.turnOn();
    credits = 999;

    expect(await zap.poll()).toEqual([
      expect.objectContaining({ email: 'owner@example.com', threshold: 1000 }),
    ]);
  });

  it('keeps a new drop back when its memory cannot be saved, so that it never gets two IDs', async () => {
    let credits = 200;
    const zap = zapOf(
      pollWith({ threshold: '100' }, () => [
        { email: 'jane@example.com', credits },
        { email: 'sam@example.com', credits: credits - 50 },
      ]),
    );
    await zap.turnOn();
    credits = 120;
    expect(await zap.poll()).toEqual([expect.objectContaining({ email: 'sam@example.com' })]);

    credits = 50;
    clock = at(1);
    dropCacheWrites(1);
    expect(await zap.poll()).toEqual([]);
    expect(zap.lastPoll()).toEqual([expect.objectContaining({ email: 'sam@example.com' })]);
    clock = at(2);
    expect(await zap.poll()).toEqual([
      expect.objectContaining({ email: 'jane@example.com', belowSince: iso(at(2)) }),
    ]);
  });

  it('fails the poll when it cannot remember where it starts', async () => {
    dropCacheWrites(1);
    const zap = zapOf(pollWith({ threshold: '100' }, () => []));

    const error = await failure(zap.turnOn());

    expect(messageOf(error)).toBe(
      'Credits Running Low could not store which accounts are below the threshold, so it cannot tell when one drops yet. Zapier will try again at the next poll.',
    );
  });

  it('shows up to three accounts below the threshold as samples, and remembers nothing', async () => {
    const accounts = Array.from({ length: 5 }, (_, index) => ({
      email: `u${String(index)}@example.com`,
      credits: index,
    }));
    admin().get('/users').reply(200, accounts);

    const items = await inApp(perform, {
      authData: adminAuth,
      inputData: { threshold: '4' },
      meta: { isLoadingSample: true },
    });

    expect(items).toEqual([
      expect.objectContaining({ email: 'u0@example.com' }),
      expect.objectContaining({ email: 'u1@example.com' }),
      expect.objectContaining({ email: 'u2@example.com' }),
    ]);
    expect(cache()).toEqual({});
  });

  it.each([
    [
      'no threshold',
      { threshold: '' },
      'Threshold: is empty. Type or map a whole number of 1 or more.',
    ],
    [
      'a zero threshold',
      { threshold: '0' },
      'Threshold: "0" is not a whole number from 1 to 2,147,483,647.',
    ],
    [
      'a fractional threshold',
      { threshold: '1.5' },
      'Threshold: "1.5" is not a whole number from 1 to 2,147,483,647. Digits only, or with thousands separators in groups of three (1000, 1,000 or 1 000).',
    ],
    [
      'an unknown account choice',
      { threshold: '10', account: 'mine' },
      `Account: "mine" is not one of its choices: Every user's account (users) or Your own account (own). Pick one, or map a field that holds a choice's name or value.`,
    ],
  ])('halts on %s before any request', async (_case, input, message) => {
    const error = await failure(inApp(perform, { authData: adminAuth, inputData: input }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(message);
    expect(unmatched).toEqual([]);
  });

  it('fails before any request on Deal.ai', async () => {
    const error = await failure(
      inApp(perform, { authData: dealaiAuth, inputData: { threshold: '10' } }),
    );

    expect(messageOf(error)).toBe(
      'Credits Running Low works only with an Administration API connection; this connection uses the Deal.ai White Label, which offers Add User, Change Role and Remove User. Use one of those, remove this step, or choose an Administration API connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});

describe('Credits Running Low, Account as a person types it', () => {
  it.each([
    ['Own', 'ownAccount'],
    ['your own account', 'ownAccount'],
    ['USERS', 'findUsers'],
    ["Every user's account", 'findUsers'],
  ])('reads %j as a choice', async (typed, route) => {
    if (route === 'ownAccount') {
      admin()
        .get('/user')
        .reply(200, [{ email: 'owner@example.com', credits: 5 }]);
    } else {
      admin()
        .get('/users')
        .reply(200, [{ email: 'jane@example.com', credits: 5 }]);
    }

    const items = await inApp(perform, {
      authData: adminAuth,
      inputData: { threshold: '10', account: typed },
      meta: { isLoadingSample: true },
    });

    expect(items).toHaveLength(1);
  });
});

describe('Credits Running Low with its memory in pieces (a large site)', () => {
  const pieceOf = (email: string) => Math.floor((emailPrint(email) * 2) / 2 ** 48);

  it('loses one piece alone: nothing fires twice, a drop there waits for the next one', async () => {
    // 8,000 accounts below pack to 64 KB: two pieces by fingerprint range.
    const below = Array.from({ length: 8_000 }, (_, index) => ({
      email: `member${String(index)}@example.com`,
      credits: 5,
    }));
    const watched = Array.from({ length: 50 }, (_, index) => `watched${String(index)}@example.com`);
    const [jane, sam] = [
      watched.find((email) => pieceOf(email) === 0) ?? '',
      watched.find((email) => pieceOf(email) === 1) ?? '',
    ];
    const credits = new Map([
      [jane, 500],
      [sam, 500],
    ]);
    const zap = zapOf(
      pollWith({ threshold: '100' }, () => [
        ...below,
        ...[...credits].map(([email, balance]) => ({ email, credits: balance })),
      ]),
    );
    await zap.turnOn();
    credits.set(jane, 50);
    clock = at(1);
    expect((await zap.poll()).map((item) => item.email)).toEqual([jane]);
    const pieces = Object.keys(cache()).filter((key) => key.includes('users%3A100%3A2.'));
    expect(pieces).toHaveLength(2);

    uncache(pieces[0] ?? '');
    credits.set(sam, 40);
    clock = at(2);
    // Jane's range starts afresh: she is not taken for a new drop, and Sam's drop fires.
    expect((await zap.poll()).map((item) => item.email)).toEqual([sam]);
    clock = at(3);
    expect(await zap.poll()).toEqual([]);
    credits.set(jane, 500);
    clock = at(4);
    expect(await zap.poll()).toEqual([]);
    credits.set(jane, 10);
    clock = at(5);
    expect(await zap.poll()).toEqual([
      expect.objectContaining({ email: jane, belowSince: iso(at(5)) }),
    ]);
  });
});
