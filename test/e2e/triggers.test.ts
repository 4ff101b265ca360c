/**
 * The polling triggers against the sandbox, polled the way Zapier polls them: the first poll
 * (turning the Zap on) only records IDs, later polls fire for IDs not seen before.
 */
import App from '../../index';
import { SANDBOX_OWNER_EMAIL, postAsOwner } from '../../tools/sandbox/server';
import { MEMORY_TTL_SECONDS } from '../../src/memory';
import { execute } from '../support/lambda';
import { zapOf } from '../support/zap';
import type { Meta } from '../support/zap';
import { invoke, useSandbox } from './setup';

// The sandbox's cache expires entries by this clock.
let clock = Date.now();
const { admin, sandbox, zapier } = useSandbox({ now: () => clock });

const post = (route: string, body: object) => postAsOwner(sandbox(), route, body);

const spend = (email: string, credits: number) =>
  post('/sandbox/consume', { email, service: 'search', credits });

const topUp = (email: string, credits: number) =>
  invoke(App.creates.provision_credits.operation.perform, admin(), {
    email,
    credits,
    mode: 'atLeast',
  });

/**
 * A trigger's poll as a Lambda event of Zap `zap`, run by a Zapier account on a connection: the
 * event carries the sandbox's RPC endpoint and a token, so z.cache is the sandbox's.
 */
const poller =
  (
    trigger: string,
    inputData: Record<string, unknown> = {},
    { zap = 'zap-1', connection = 'conn-1' }: { zap?: string; connection?: string } = {},
  ) =>
  (meta: Meta): Promise<unknown> => {
    const bundle = { authData: admin(), inputData, meta: { ...meta, zap: { id: zap } } };
    return execute(`triggers.${trigger}.operation.perform`, bundle, zapier('acct-1', connection));
  };

/** Runs a poll and returns what it fired, checking that it sent exactly one request. */
const oneRequest = async (poll: () => Promise<unknown[]>): Promise<unknown[]> => {
  const before = sandbox().requestCount();
  const fired = await poll();
  expect(sandbox().requestCount() - before).toBe(1);
  return fired;
};

describe('Credits Running Low, end to end', () => {
  it('fires once per time below: spend down, spend more, top up, spend down again', async () => {
    await post('/users', { email: 'jane@example.com', credits: 500 });
    await post('/users', { email: 'broke@example.com', credits: 0 });
    const zap = zapOf(poller('credits_low', { threshold: '100' }));
    expect(await oneRequest(zap.turnOn)).toEqual([]);

    await spend('jane@example.com', 450);
    const first = await oneRequest(zap.poll);
    await spend('jane@example.com', 30);
    const second = await oneRequest(zap.poll);
    await topUp('jane@example.com', 300);
    const recovered = await oneRequest(zap.poll);
    await spend('jane@example.com', 250);
    const third = await oneRequest(zap.poll);

    expect(first).toEqual([
      expect.objectContaining({ email: 'jane@example.com', credits: 50, threshold: 100 }),
    ]);
    expect(first[0]).toHaveProperty('id', expect.stringMatching(/^jane@example\.com#\d{4}-/));
    expect(second).toEqual([]);
    expect(recovered).toEqual([]);
    expect(third).toEqual([expect.objectContaining({ email: 'jane@example.com', credits: 50 })]);
    expect(third).not.toEqual(first);
  });

  it("watches the connection's own balance", async () => {
    const zap = zapOf(poller('credits_low', { threshold: '999000', account: 'own' }));
    await zap.turnOn();

    await spend(SANDBOX_OWNER_EMAIL, 1500);

    expect(await zap.poll()).toEqual([
      expect.objectContaining({ email: SANDBOX_OWNER_EMAIL, threshold: 999_000 }),
    ]);
    expect(await zap.poll()).toEqual([]);
  });
});

describe('New User, end to end', () => {
  it('fires once for a user who appears, whoever adds them', async () => {
    const zap = zapOf(poller('new_user'));
    await oneRequest(zap.turnOn);
    expect(await oneRequest(zap.poll)).toEqual([]);

    await post('/users', { email: 'New.Person@Example.com', credits: 25 });
    await invoke(App.creates.add_user.operation.perform, admin(), { email: 'second@example.com' });

    expect(await oneRequest(zap.poll)).toEqual([
      { id: 'second@example.com', email: 'second@example.com', credits: 0 },
      { id: 'new.person@example.com', email: 'new.person@example.com', credits: 25 },
    ]);
    expect(await oneRequest(zap.poll)).toEqual([]);
  });
});

describe('the memory behind both triggers, end to end', () => {
  it('is kept per Zap and per connection', async () => {
    await post('/users', { email: 'shared@example.com', credits: 500 });
    const zapA = zapOf(poller('credits_low', { threshold: '200' }, { zap: 'zap-a' }));
    const zapB = zapOf(poller('credits_low', { threshold: '200' }, { zap: 'zap-b' }));
    // Same Zap ID on another connection: only the connection tells the two apart.
    const zapC = zapOf(
      poller('credits_low', { threshold: '200' }, { zap: 'zap-a', connection: 'conn-2' }),
    );
    await zapA.turnOn();
    await spend('shared@example.com', 400);
    // Turned on after the drop: already below for these two, which must not reset zapA's memory.
    await zapB.turnOn();
    await zapC.turnOn();

    expect(await zapA.poll()).toEqual([expect.objectContaining({ email: 'shared@example.com' })]);
    expect(await zapB.poll()).toEqual([]);
    expect(await zapC.poll()).toEqual([]);
  });

  it('starts afresh when it expires: accounts below then wait for their next drop', async () => {
    await post('/users', { email: 'idle@example.com', credits: 500 });
    const zap = zapOf(poller('credits_low', { threshold: '300' }, { zap: 'zap-idle' }));
    await zap.turnOn();
    await spend('idle@example.com', 300);
    clock += (MEMORY_TTL_SECONDS + 1) * 1000;

    expect(await zap.poll()).toEqual([]);
    await topUp('idle@example.com', 400);
    await zap.poll();
    await spend('idle@example.com', 250);
    expect(await zap.poll()).toEqual([expect.objectContaining({ email: 'idle@example.com' })]);
  });
});
