/**
 * The polling triggers against the sandbox, polled the way Zapier polls them: the first poll
 * (turning the Zap on) only records IDs, later polls fire for IDs not seen before.
 */
import App from '../../index';
import { SANDBOX_ADMIN_TOKEN_DEFAULT, SANDBOX_OWNER_EMAIL } from '../../sandbox/server';
import { creditsLow } from '../../src/triggers/credits-low';
import { newUser } from '../../src/triggers/new-user';
import { callable } from '../helpers';
import { zapOf } from '../support/zap';
import type { Meta } from '../support/zap';
import { appTester, invoke, useSandbox } from './setup';

const { admin, sandbox } = useSandbox();

const post = async (route: string, body: object): Promise<unknown> => {
  const response = await fetch(`${sandbox().adminBaseUrl}${route}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN_DEFAULT}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return response.json();
};

const spend = (email: string, credits: number) =>
  post('/sandbox/consume', { email, service: 'search', credits });

const topUp = (email: string, credits: number) =>
  invoke(App.creates.provision_credits.operation.perform, admin(), {
    email,
    credits,
    mode: 'atLeast',
  });

/** A trigger's poll through Zapier's app tester, with a connection to the sandbox. */
const poller =
  (trigger: { operation: object }, inputData: Record<string, unknown> = {}) =>
  (meta: Meta): Promise<unknown> => {
    // The typings give a trigger's operation as polling or hook; these poll.
    const perform = callable(Reflect.get(trigger.operation, 'perform'));
    return appTester(perform, { authData: admin(), inputData, meta });
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
    const zap = zapOf(poller(creditsLow, { threshold: '100' }));
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
    const zap = zapOf(poller(creditsLow, { threshold: '999000', account: 'own' }));
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
    const zap = zapOf(poller(newUser));
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
