/**
 * Event Time end to end: the app's Lambda handler with `rpc_base` and `token` in every event, as
 * on Zapier, against the sandbox's APIs and its z.cache RPC endpoint (SQLite: atomic
 * set-if-absent, real TTL, one space per connection). Each run below is one Zapier delivery; a
 * run that Zapier would retry after a ThrottledError is retried by the test.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

import * as cacheModule from '../../src/cache';
import { openCache } from '../../src/cache';
import { isoTime } from '../../src/fields';
import { CLOCK_TTL_SECONDS, LOCK_RETRY_SECONDS, LOCK_TTL_SECONDS } from '../../src/ordering';
import { failure, messageOf, payloadOf, throttleOf } from '../helpers';
import { execute, withZ } from '../support/lambda';
import type { ZapierRun } from '../support/lambda';
import { useSandbox } from './setup';

let clock = Date.now();
const { sandbox, dealai, admin, zapier } = useSandbox({ now: () => clock });

const ADD = 'creates.add_user.operation.perform';
const CHANGE = 'creates.change_role.operation.perform';
const REMOVE = 'creates.remove_user.operation.perform';

/** The events' times: a whole second an hour ago, and seconds after it. */
const BASE = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const at = (seconds: number): number => BASE + seconds * 1000;
const unixSeconds = (seconds: number): string => String(at(seconds) / 1000);
const iso = (seconds: number): string => isoTime(new Date(at(seconds)));

type Auth = Record<string, string>;
const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};

const run = (
  method: string,
  zap: ZapierRun,
  authData: Auth,
  inputData: Record<string, unknown>,
): Promise<Record<string, unknown>> => execute(method, { authData, inputData }, zap).then(record);

const addOnDealai = (zap: ZapierRun, email: string, eventTime?: string, authData = dealai()) =>
  run(ADD, zap, authData, {
    firstName: 'Jane',
    email,
    role: 'Basic Plan',
    ...(eventTime === undefined ? {} : { eventTime }),
  });

const changeRole = (
  zap: ZapierRun,
  email: string,
  role: string,
  eventTime?: unknown,
  authData = dealai(),
) => run(CHANGE, zap, authData, { email, role, ...(eventTime === undefined ? {} : { eventTime }) });

const removeUser = (zap: ZapierRun, email: string, eventTime?: string, authData = dealai()) =>
  run(REMOVE, zap, authData, { email, ...(eventTime === undefined ? {} : { eventTime }) });

const roleOf = (email: string): string | null | undefined => sandbox().dealaiUser(email)?.role;

/** The clock or lock entry of a user, read through the app's own cache module. */
const entryOf = async (
  zap: ZapierRun,
  purpose: 'event-clock' | 'event-lock',
  baseUrl: string,
  email: string,
  provider = 'dealai',
): Promise<unknown> =>
  withZ(zap, (z) =>
    openCache(z, { scope: ['auth'], namespace: [purpose, provider, baseUrl] }).get(email),
  );

/** What the same connection's cache calls and API requests were during `action`. */
const counted = async <T>(
  action: () => Promise<T>,
): Promise<{ value: T; requests: number; cacheCalls: number }> => {
  const before = { requests: sandbox().requestCount(), rpc: sandbox().zapier.rpcCount() };
  const value = await action();
  return {
    value,
    requests: sandbox().requestCount() - before.requests,
    cacheCalls: sandbox().zapier.rpcCount() - before.rpc,
  };
};

/** Runs a delivery until it no longer asks Zapier to retry it (bounded), as Zapier would. */
const delivered = async (
  deliver: () => Promise<Record<string, unknown>>,
): Promise<{ result: Record<string, unknown>; retries: number }> => {
  for (let retries = 0; retries < 200; retries += 1) {
    try {
      return { result: await deliver(), retries };
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ThrottledError') {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
  throw new Error('still throttled after 200 retries');
};

describe('one user, events out of order', () => {
  const zap = () => zapier('acct-order', 'conn-order');

  it('an upgrade and a downgrade in the wrong order: the older sends nothing, the newer stays', async () => {
    const email = 'wrong.order@example.com';
    await addOnDealai(zap(), email);

    const upgrade = await counted(() => changeRole(zap(), email, 'Premium Plan', unixSeconds(5)));
    const downgrade = await counted(() => changeRole(zap(), email, 'Basic Plan', unixSeconds(1)));

    expect(upgrade.value).toMatchObject({ role: 'Premium Plan', stale: false, staleNote: null });
    expect(upgrade.requests).toBe(1);
    expect(downgrade.value).toEqual({
      provider: 'dealai',
      email,
      role: null,
      roleCleared: false,
      stale: true,
      staleNote: `Not applied: a newer event for ${email}, of ${iso(5)}, was already applied (Change Role); this event is of ${iso(1)}, so nothing was sent.`,
    });
    expect(downgrade.requests).toBe(0);
    expect(roleOf(email)).toBe('Premium Plan');
    // The states' costs: first applied (claim lock, read clock, move clock, release) and stale.
    expect(upgrade.cacheCalls).toBe(4);
    expect(downgrade.cacheCalls).toBe(3);
  });

  it('in order, both are applied and the user ends on the newer', async () => {
    const email = 'in.order@example.com';
    await addOnDealai(zap(), email);

    const first = await changeRole(zap(), email, 'Premium Plan', unixSeconds(1));
    const second = await changeRole(zap(), email, 'Basic Plan', unixSeconds(5));

    expect([first.stale, second.stale]).toEqual([false, false]);
    expect(roleOf(email)).toBe('Basic Plan');
    expect(await entryOf(zap(), 'event-clock', sandbox().dealaiBaseUrl, email)).toEqual({
      at: at(5),
      by: 'Change Role',
    });
  });

  it('reads ISO 8601 (with an offset, or none for UTC), Unix seconds and milliseconds on one clock', async () => {
    const email = 'formats@example.com';
    await addOnDealai(zap(), email);
    const withOffset = new Date(at(5) + 2 * 3600_000).toISOString().replace('Z', '+02:00');

    const iso5 = await changeRole(zap(), email, 'Premium Plan', withOffset);
    const seconds3 = await changeRole(zap(), email, 'Basic Plan', unixSeconds(3));
    const millis5 = await counted(() => changeRole(zap(), email, 'Basic Plan', String(at(5))));
    const millis4 = await changeRole(zap(), email, 'Premium Plan', String(at(4)));
    const noOffset7 = await changeRole(zap(), email, 'Premium Plan', iso(7).replace('Z', ''));
    const seconds6 = await changeRole(zap(), email, 'Basic Plan', `${unixSeconds(6)}.999`);

    expect(
      [iso5, seconds3, millis5.value, millis4, noOffset7, seconds6].map((r) => r.stale),
    ).toEqual([false, true, false, true, false, true]);
    // An equal time is applied (two events in one second are normal), without moving the clock.
    expect(millis5.requests).toBe(1);
    expect(millis5.cacheCalls).toBe(3);
    expect(roleOf(email)).toBe('Premium Plan');
  });

  it('a removal, then a late plan change: the change is stale and green, not a 404', async () => {
    const email = 'removed.first@example.com';
    await addOnDealai(zap(), email);

    const removal = await removeUser(zap(), email, unixSeconds(10));
    const late = await counted(() => changeRole(zap(), email, 'Premium Plan', unixSeconds(8)));

    expect(removal).toMatchObject({ removed: true, stale: false });
    expect(late.value).toMatchObject({ stale: true, role: null });
    expect(String(late.value.staleNote)).toContain(
      `of ${iso(10)}, was already applied (Remove User)`,
    );
    expect(late.requests).toBe(0);
    expect(sandbox().dealaiUser(email)).toBeUndefined();
  });

  it('a removal, then a re-subscription: the re-add is applied; a late removal after it is not', async () => {
    const email = 'comes.back@example.com';
    await addOnDealai(zap(), email, unixSeconds(1));
    await removeUser(zap(), email, unixSeconds(10));

    const readded = await addOnDealai(zap(), email, unixSeconds(20));
    const lateRemoval = await counted(() => removeUser(zap(), email, unixSeconds(15)));
    const lateChange = await changeRole(zap(), email, 'Premium Plan', unixSeconds(12));

    expect(readded).toMatchObject({ email, role: 'Basic Plan', stale: false, staleNote: null });
    expect(lateRemoval.value).toMatchObject({ removed: false, stale: true });
    expect(lateRemoval.requests).toBe(0);
    expect(lateChange.stale).toBe(true);
    expect(roleOf(email)).toBe('Basic Plan');
  });

  it('a stale Add User returns every key of a live one, nothing sent', async () => {
    const email = 'late.add@example.com';
    await addOnDealai(zap(), email, unixSeconds(10));
    await removeUser(zap(), email, unixSeconds(20));

    const late = await counted(() => addOnDealai(zap(), email, unixSeconds(15)));

    const { staleNote, ...rest } = late.value;
    expect(rest).toEqual({
      provider: 'dealai',
      email,
      firstName: null,
      lastName: null,
      role: null,
      inviteSent: false,
      replayed: false,
      replayNote: null,
      stale: true,
    });
    expect(String(staleNote)).toContain(`of ${iso(20)}, was already applied (Remove User)`);
    expect(late.requests).toBe(0);
    expect(sandbox().dealaiUser(email)).toBeUndefined();
  });

  it('the clock lives 70 days: after that a very late event is applied as if it were the first', async () => {
    const email = 'long.ago@example.com';
    await addOnDealai(zap(), email);
    await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));
    clock += (CLOCK_TTL_SECONDS - 1) * 1000;
    const stillStale = await changeRole(zap(), email, 'Basic Plan', unixSeconds(1));
    clock += 1000;

    const applied = await changeRole(zap(), email, 'Basic Plan', unixSeconds(1));

    expect(stillStale.stale).toBe(true);
    expect(applied.stale).toBe(false);
    expect(roleOf(email)).toBe('Basic Plan');
  });
});

/**
 * Forwards to the sandbox. Told to, it holds the next write until released (the run is in
 * flight), or forwards it and then cuts the connection before answering (applied, never heard).
 */
class HoldingProxy {
  private server: Server | undefined;
  private port = 0;
  private held: (() => void)[] = [];
  hold = false;
  drop = false;

  async start(target: () => string): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const forward = () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(request.headers)) {
            if (typeof value === 'string' && name !== 'host' && name !== 'content-length') {
              headers.set(name, value);
            }
          }
          const url = `${target()}${(request.url ?? '/').replace(/^\/proxy/, '')}`;
          const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
          const drop = this.drop;
          this.drop = false;
          void fetch(url, { method: request.method, headers, body }).then(async (upstream) => {
            const text = await upstream.text();
            if (drop) {
              request.socket.destroy();
              return;
            }
            response.writeHead(upstream.status, {
              'content-type': upstream.headers.get('content-type') ?? 'text/plain',
            });
            response.end(text);
          });
        };
        if (this.hold && request.method !== 'GET') {
          this.hold = false;
          this.held.push(forward);
        } else {
          forward();
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${String(this.port)}/proxy`;
  }

  /** Resolves once a write is being held. */
  async waitHeld(): Promise<void> {
    for (let tries = 0; tries < 500 && this.held.length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(this.held).toHaveLength(1);
  }

  release(): void {
    for (const forward of this.held.splice(0)) {
      forward();
    }
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('concurrent runs', () => {
  const zap = () => zapier('acct-race', 'conn-race');
  const proxy = new HoldingProxy();
  const viaProxy = () => ({ ...dealai(), baseUrl: proxy.baseUrl });

  beforeAll(async () => {
    await proxy.start(() => sandbox().dealaiBaseUrl);
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it('a newer event arriving while an older one is in flight waits, is retried, and is applied', async () => {
    const email = 'newer.waits@example.com';
    await addOnDealai(zap(), email);
    proxy.hold = true;
    const older = changeRole(zap(), email, 'Basic Plan', unixSeconds(1), viaProxy());
    await proxy.waitHeld();

    const waiting = await counted(() =>
      failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5), viaProxy())),
    );
    proxy.release();
    const olderResult = await older;
    const retried = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5), viaProxy());

    expect(waiting.value.name).toBe('ThrottledError');
    const { message, delay } = throttleOf(waiting.value);
    expect(message).toMatch(
      new RegExp(
        `^Event Time: another run is applying an event to ${email.replace('.', '\\.')} \\(since \\S+\\), so this one sent nothing yet\\. Zapier will retry it in \\d+ seconds, and it is applied then unless a newer event was applied first\\.$`,
      ),
    );
    expect(delay).toBeGreaterThanOrEqual(LOCK_RETRY_SECONDS.min);
    expect(delay).toBeLessThanOrEqual(LOCK_RETRY_SECONDS.max);
    expect(waiting.requests).toBe(0);
    // A taken lock costs the claim and a read of who holds it.
    expect(waiting.cacheCalls).toBe(2);
    expect(olderResult.stale).toBe(false);
    expect(retried.stale).toBe(false);
    expect(roleOf(email)).toBe('Premium Plan');
  });

  it('an older event arriving while a newer one is in flight waits, then is stale', async () => {
    const email = 'older.waits@example.com';
    await addOnDealai(zap(), email);
    proxy.hold = true;
    const newer = changeRole(zap(), email, 'Premium Plan', unixSeconds(5), viaProxy());
    await proxy.waitHeld();

    const waiting = await failure(
      changeRole(zap(), email, 'Basic Plan', unixSeconds(1), viaProxy()),
    );
    proxy.release();
    await newer;
    const retried = await changeRole(zap(), email, 'Basic Plan', unixSeconds(1), viaProxy());

    expect(waiting.name).toBe('ThrottledError');
    expect(retried.stale).toBe(true);
    expect(roleOf(email)).toBe('Premium Plan');
  });

  it.each([
    ['oldest first', [1, 2, 3, 4, 5, 6]],
    ['newest first', [6, 5, 4, 3, 2, 1]],
  ])(
    'six concurrent deliveries, %s: applied only in increasing Event Time, ending on the newest',
    async (_order, seconds) => {
      const email = `six.${String(seconds[0])}@example.com`;
      await addOnDealai(zap(), email);
      const roleFor = (second: number) => (second % 2 === 0 ? 'Premium Plan' : 'Basic Plan');
      const applied: number[] = [];
      const before = sandbox().requestCount();

      const outcomes = await Promise.all(
        seconds.map(async (second) => {
          const { result, retries } = await delivered(() =>
            changeRole(zap(), email, roleFor(second), unixSeconds(second)),
          );
          if (result.stale === false) {
            applied.push(second);
          }
          return { second, stale: result.stale, retries };
        }),
      );

      expect(outcomes.some((outcome) => outcome.retries > 0)).toBe(true);
      expect(applied).toContain(6);
      expect(applied).toEqual([...applied].sort((a, b) => a - b));
      expect(sandbox().requestCount() - before).toBe(applied.length);
      expect(roleOf(email)).toBe(roleFor(6));
      expect(await entryOf(zap(), 'event-lock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
    },
  );

  it('a lock left by a crashed run makes runs wait; it expires within a minute', async () => {
    const email = 'crashed@example.com';
    await addOnDealai(zap(), email);
    await withZ(zap(), (z) =>
      openCache(z, {
        scope: ['auth'],
        namespace: ['event-lock', 'dealai', sandbox().dealaiBaseUrl],
      }).set(email, { run: 'crashed', since: new Date(clock).toISOString() }, LOCK_TTL_SECONDS),
    );

    const waiting = await failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5)));
    clock += (LOCK_TTL_SECONDS - 1) * 1000;
    const stillWaiting = await failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5)));
    clock += 1000;
    const applied = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));

    expect(LOCK_TTL_SECONDS).toBeLessThanOrEqual(60);
    expect([waiting.name, stillWaiting.name]).toEqual(['ThrottledError', 'ThrottledError']);
    expect(applied.stale).toBe(false);
    expect(roleOf(email)).toBe('Premium Plan');
  });

  it('a failed run releases the lock and leaves the clock where it was', async () => {
    const email = 'nobody@example.com';

    const missing = await counted(() =>
      failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5))),
    );

    expect(messageOf(missing.value)).toMatch(/found no such account \(HTTP 404\)/);
    // Claim the lock, read the clock, release: no clock write.
    expect(missing.cacheCalls).toBe(3);
    expect(await entryOf(zap(), 'event-lock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
    expect(await entryOf(zap(), 'event-clock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
  });

  it('a write whose answer was lost moves the clock: a late older event cannot undo it', async () => {
    const email = 'lost.answer@example.com';
    await addOnDealai(zap(), email);
    proxy.drop = true;

    const lost = await counted(() =>
      failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5), viaProxy())),
    );
    const older = await changeRole(zap(), email, 'Basic Plan', unixSeconds(1), viaProxy());
    const replayed = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5), viaProxy());

    expect(messageOf(lost.value)).toMatch(/dropped the connection/);
    expect(lost.cacheCalls).toBe(4);
    expect(older.stale).toBe(true);
    expect(replayed.stale).toBe(false);
    expect(roleOf(email)).toBe('Premium Plan');
    expect(await entryOf(zap(), 'event-lock', proxy.baseUrl, email)).toBeUndefined();
  });
});

describe('kept apart', () => {
  it('different users have different clocks', async () => {
    const zap = () => zapier('acct-apart', 'conn-apart');
    await addOnDealai(zap(), 'one@example.com');
    await addOnDealai(zap(), 'two@example.com');

    await changeRole(zap(), 'one@example.com', 'Premium Plan', unixSeconds(50));
    const other = await changeRole(zap(), 'TWO@example.com', 'Premium Plan', unixSeconds(1));
    const sameUserOtherCase = await changeRole(
      zap(),
      ' ONE@Example.com ',
      'Basic Plan',
      unixSeconds(2),
    );

    expect(other.stale).toBe(false);
    expect(sameUserOtherCase.stale).toBe(true);
    expect(roleOf('two@example.com')).toBe('Premium Plan');
  });

  it('different connections have different clocks; Zaps of two Zapier users on one connection share one', async () => {
    const email = 'shared.site@example.com';
    await addOnDealai(zapier('acct-a', 'conn-a'), email);

    await changeRole(zapier('acct-a', 'conn-a'), email, 'Premium Plan', unixSeconds(50));
    const otherConnection = await changeRole(
      zapier('acct-a', 'conn-b'),
      email,
      'Basic Plan',
      unixSeconds(1),
    );
    const otherUserSameConnection = await changeRole(
      zapier('acct-b', 'conn-a'),
      email,
      'Premium Plan',
      unixSeconds(2),
    );

    expect(otherConnection.stale).toBe(false);
    expect(otherUserSameConnection.stale).toBe(true);
    expect(roleOf(email)).toBe('Basic Plan');
  });

  it('the two providers (and Base URLs) of one connection space have different clocks', async () => {
    const zap = () => zapier('acct-prov', 'conn-prov');
    const email = 'both.sites@example.com';
    await addOnDealai(zap(), email);
    await run(ADD, zap(), admin(), { email });

    await removeUser(zap(), email, unixSeconds(50));
    const onAdmin = await removeUser(zap(), email, unixSeconds(1), admin());

    expect(onAdmin).toMatchObject({ removed: true, credits: 0, stale: false });
  });
});

describe('no Event Time', () => {
  it('behaves as before: applied, stale false, and the clock is neither read nor moved', async () => {
    const zap = () => zapier('acct-none', 'conn-none');
    const email = 'no.time@example.com';
    await addOnDealai(zap(), email);
    await changeRole(zap(), email, 'Premium Plan', unixSeconds(50));

    const plain = await counted(() => changeRole(zap(), email, 'Basic Plan'));
    const empty = await changeRole(zap(), email, 'Basic Plan', '  ');
    const older = await changeRole(zap(), email, 'Premium Plan', unixSeconds(49));

    expect(plain.value).toEqual({
      provider: 'dealai',
      email,
      role: 'Basic Plan',
      roleCleared: false,
      stale: false,
      staleNote: null,
    });
    expect(plain.cacheCalls).toBe(0);
    expect(empty.stale).toBe(false);
    expect(older.stale).toBe(true);
    expect(roleOf(email)).toBe('Basic Plan');
  });
});

describe('an Event Time that cannot be used', () => {
  const zap = () => zapier('acct-bad', 'conn-bad');

  // Every refusal, with its message, is in test/ordering.test.ts; here, what it costs.
  it('refuses a value it cannot read before any request or cache call, naming Event Time', async () => {
    const outcome = await counted(() =>
      failure(changeRole(zap(), 'bad.time@example.com', 'Premium Plan', 'yesterday')),
    );

    expect(messageOf(outcome.value)).toMatch(
      /^Event Time: "yesterday" is not a time this step can read/,
    );
    expect(outcome.requests).toBe(0);
    expect(outcome.cacheCalls).toBe(0);
  });

  it('fails on a connection without the step, before any request or cache call', async () => {
    const outcome = await counted(() =>
      failure(changeRole(zap(), 'wrong.provider@example.com', 'Premium Plan', iso(5), admin())),
    );

    expect(payloadOf(outcome.value)).toMatchObject({ code: 'UnsupportedByProvider' });
    expect(outcome.requests).toBe(0);
    expect(outcome.cacheCalls).toBe(0);
  });

  it('accepts a time up to a day ahead (clocks disagree)', async () => {
    const email = 'ahead@example.com';
    await addOnDealai(zap(), email);
    const soon = new Date(Date.now() + 23 * 3600_000).toISOString();

    await expect(changeRole(zap(), email, 'Premium Plan', soon)).resolves.toMatchObject({
      stale: false,
    });
  });
});

describe("Zapier's cache unreachable", () => {
  it('sends nothing and asks Zapier to retry, when the step asked for ordering', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = { rpcBase: `http://127.0.0.1:${String(port)}/rpc`, token: 'zt-none' };
    const before = sandbox().requestCount();

    const error = await failure(
      changeRole(nowhere, 'any@example.com', 'Premium Plan', unixSeconds(1)),
    );

    expect(error.name).toBe('ThrottledError');
    const { message, delay } = throttleOf(error);
    expect(message).toMatch(
      /^Event Time: Zapier's cache, which keeps the order of events, could not be reached, so nothing was sent\. Zapier will retry this run in 60 seconds\. \(RPC request failed/,
    );
    expect(delay).toBe(60);
    expect(sandbox().requestCount() - before).toBe(0);
  });
});

describe('with the Idempotency Key (Add User)', () => {
  const zap = () => zapier('acct-key', 'conn-key');
  const add = (email: string, seconds: number) =>
    run(ADD, zap(), admin(), {
      email,
      idempotencyKey: `evt_${String(seconds)}`,
      eventTime: unixSeconds(seconds),
    });

  it('a replay returns the first result and does not move the clock; after a newer removal it is stale', async () => {
    const email = 'keyed@example.com';

    const first = await counted(() => add(email, 10));
    const replay = await counted(() => add(email, 10));
    await removeUser(zap(), email, unixSeconds(20), admin());
    const lateReplay = await counted(() => add(email, 10));

    expect(first.value).toMatchObject({ email, replayed: false, stale: false });
    expect(first.requests).toBe(1);
    // The key's claim and its result, on top of the clock's four calls.
    expect(first.cacheCalls).toBe(6);
    expect(replay.value).toMatchObject({ email, replayed: true, stale: false, token: null });
    expect(replay.requests).toBe(0);
    // Lock, clock read, the key's claim and read (a replay), release: no clock write.
    expect(replay.cacheCalls).toBe(5);
    expect(lateReplay.value).toMatchObject({ stale: true, replayed: false });
    expect(lateReplay.requests).toBe(0);
    expect(await entryOf(zap(), 'event-clock', sandbox().adminBaseUrl, email, 'admin')).toEqual({
      at: at(20),
      by: 'Remove User',
    });
  });
});

describe("Zapier's cache failing in the middle of a run", () => {
  const zap = () => zapier('acct-fault', 'conn-fault');
  type Faults = Partial<Record<'get' | 'set' | 'claim' | 'delete', 'throw' | 'claim-then-false'>>;

  /** Makes the named calls of one purpose's cache fail (or lie) for the runs of the test. */
  const faulty = (purpose: string, faults: Faults): void => {
    const real = cacheModule.openCache;
    jest.spyOn(cacheModule, 'openCache').mockImplementation((z, space) => {
      const cache = real(z, space);
      if (space.namespace[0] !== purpose) {
        return cache;
      }
      const fail = () => Promise.reject(new Error('RPC request failed after 3 attempts: boom'));
      return {
        get: faults.get === 'throw' ? fail : cache.get,
        set: faults.set === 'throw' ? fail : cache.set,
        delete: faults.delete === 'throw' ? fail : cache.delete,
        claim:
          faults.claim === 'claim-then-false'
            ? async (name, value, ttl) => {
                await cache.claim(name, value, ttl);
                return false;
              }
            : cache.claim,
      };
    });
  };

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('the clock cannot be read: nothing is sent, Zapier retries, the lock is released', async () => {
    const email = 'clock.unread@example.com';
    await addOnDealai(zap(), email);
    faulty('event-clock', { get: 'throw' });

    const outcome = await counted(() =>
      failure(changeRole(zap(), email, 'Premium Plan', unixSeconds(5))),
    );
    jest.restoreAllMocks();

    expect(outcome.value.name).toBe('ThrottledError');
    expect(throttleOf(outcome.value).delay).toBe(60);
    expect(outcome.requests).toBe(0);
    expect(await entryOf(zap(), 'event-lock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
    expect(roleOf(email)).toBe('Basic Plan');
  });

  it('the clock cannot be written after the change: the step succeeds (it was applied)', async () => {
    const email = 'clock.unwritten@example.com';
    await addOnDealai(zap(), email);
    faulty('event-clock', { set: 'throw' });

    const result = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));
    jest.restoreAllMocks();

    expect(result.stale).toBe(false);
    expect(roleOf(email)).toBe('Premium Plan');
    expect(await entryOf(zap(), 'event-clock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
    expect(await entryOf(zap(), 'event-lock', sandbox().dealaiBaseUrl, email)).toBeUndefined();
  });

  it('the lock cannot be released: the step succeeds and the lock expires with its TTL', async () => {
    const email = 'lock.kept@example.com';
    await addOnDealai(zap(), email);
    faulty('event-lock', { delete: 'throw' });

    const result = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));
    jest.restoreAllMocks();
    const next = await failure(changeRole(zap(), email, 'Basic Plan', unixSeconds(9)));
    clock += LOCK_TTL_SECONDS * 1000;
    const later = await changeRole(zap(), email, 'Basic Plan', unixSeconds(9));

    expect(result.stale).toBe(false);
    expect(next.name).toBe('ThrottledError');
    expect(later.stale).toBe(false);
    expect(roleOf(email)).toBe('Basic Plan');
  });

  it('a claim that succeeded but came back as taken (an RPC retry) is this run’s own lock', async () => {
    const email = 'own.claim@example.com';
    await addOnDealai(zap(), email);
    faulty('event-lock', { claim: 'claim-then-false' });

    const result = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));

    expect(result.stale).toBe(false);
    expect(roleOf(email)).toBe('Premium Plan');
  });

  it('an entry that is not this integration’s counts as no clock; a lock without a time still waits', async () => {
    const email = 'odd.entries@example.com';
    await addOnDealai(zap(), email);
    const space = (purpose: string) => ({
      scope: ['auth'] as const,
      namespace: [purpose, 'dealai', sandbox().dealaiBaseUrl] as const,
    });
    await withZ(zap(), (z) =>
      cacheModule.openCache(z, space('event-clock')).set(email, { at: 'soon' }, 60),
    );

    const applied = await changeRole(zap(), email, 'Premium Plan', unixSeconds(5));
    await withZ(zap(), (z) => cacheModule.openCache(z, space('event-lock')).set(email, 'x', 60));
    const waiting = await failure(changeRole(zap(), email, 'Basic Plan', unixSeconds(9)));

    expect(applied.stale).toBe(false);
    expect(await entryOf(zap(), 'event-clock', sandbox().dealaiBaseUrl, email)).toEqual({
      at: at(5),
      by: 'Change Role',
    });
    expect(throttleOf(waiting).message).toMatch(
      /^Event Time: another run is applying an event to odd\.entries@example\.com, so this one sent nothing yet\./,
    );
  });
});

describe('an Event Time mapped from a code step', () => {
  const zap = () => zapier('acct-code', 'conn-code');

  it('takes a number as Unix seconds or milliseconds, and refuses anything else by its type', async () => {
    const email = 'code.step@example.com';
    await addOnDealai(zap(), email);

    const seconds = await changeRole(zap(), email, 'Premium Plan', at(5) / 1000);
    const millis = await changeRole(zap(), email, 'Basic Plan', at(4));
    const refused = await failure(changeRole(zap(), email, 'Basic Plan', { at: 1 }));

    expect([seconds.stale, millis.stale]).toEqual([false, true]);
    expect(messageOf(refused)).toBe(
      'Event Time: expected a date and time or a number, got object.',
    );
  });
});
