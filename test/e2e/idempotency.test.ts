/**
 * The Idempotency Key end to end: the app's Lambda handler with `rpc_base` and `token` in every
 * event, as on Zapier, against the sandbox's APIs and its z.cache RPC endpoint (SQLite: atomic
 * set-if-absent, real TTL, one space per account and connection).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

import { cacheKey } from '../../src/cache';
import { KEY_TTL_SECONDS } from '../../src/idempotency';
import { SANDBOX_ADMIN_TOKEN } from '../../tools/sandbox/server';
import { failure, messageOf } from '../helpers';
import { execute } from '../support/lambda';
import type { ZapierRun } from '../support/lambda';
import { useSandbox } from './setup';

let clock = Date.now();
const { sandbox, admin, zapier } = useSandbox({ now: () => clock });

const PROVISION = 'creates.provision_credits.operation.perform';

/** The account's balance as the API reports it. */
const balanceOf = async (email: string): Promise<number | undefined> => {
  const response = await fetch(
    `${sandbox().adminBaseUrl}/users?email=${encodeURIComponent(email)}`,
    {
      headers: { Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}` },
    },
  );
  const accounts: unknown = await response.json();
  const first: unknown = Array.isArray(accounts) ? accounts[0] : undefined;
  const credits: unknown =
    typeof first === 'object' && first !== null ? Reflect.get(first, 'credits') : undefined;
  return typeof credits === 'number' ? credits : undefined;
};

const createAccount = async (email: string, credits: number): Promise<void> => {
  const response = await fetch(`${sandbox().adminBaseUrl}/users`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ email, credits }),
  });
  expect(response.status).toBe(201);
};

/** The key's entry in the sandbox's cache, read as the same account and connection would. */
const entryOf = async (
  account: string,
  connection: string,
  baseUrl: string,
  key: string,
): Promise<unknown> => {
  const response = await fetch(sandbox().zapier.rpcUrl, {
    method: 'POST',
    headers: { 'X-Token': sandbox().zapier.issueToken({ account, connection }) },
    body: JSON.stringify({
      id: 1,
      storeKey: null,
      method: 'zcache_get',
      params: [
        cacheKey(['idempotency', 'admin', baseUrl, 'provision_credits'], key),
        ['user', 'auth'],
      ],
    }),
  });
  const answer: unknown = await response.json();
  const result: unknown =
    typeof answer === 'object' && answer !== null ? Reflect.get(answer, 'result') : undefined;
  return typeof result === 'string' ? JSON.parse(result) : result;
};

const stateOf = (entry: unknown): unknown =>
  typeof entry === 'object' && entry !== null ? Reflect.get(entry, 'state') : undefined;

const grant = (
  run: ZapierRun,
  email: string,
  key: string,
  authData: Record<string, string> = admin(),
): Promise<unknown> =>
  execute(
    PROVISION,
    { authData, inputData: { email, credits: '500', mode: 'add', idempotencyKey: key } },
    run,
  );

const settle = async (promise: Promise<unknown>) => {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, value: error instanceof Error ? messageOf(error) : String(error) };
  }
};

describe('one key, many deliveries', () => {
  it('20 concurrent deliveries of one key grant once; the others send nothing', async () => {
    const email = 'race@example.com';
    await createAccount(email, 100);
    const before = sandbox().requestCount();

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        settle(grant(zapier('acct-race', 'conn-race'), email, 'pi_race')),
      ),
    );

    const fresh = outcomes.filter(
      (outcome) => outcome.ok && JSON.stringify(outcome.value).includes('"replayed":false'),
    );
    const others = outcomes.filter((outcome) => !fresh.includes(outcome));
    expect(fresh).toHaveLength(1);
    for (const other of others) {
      expect(
        other.ok
          ? JSON.stringify(other.value).includes('"replayed":true')
          : /a delivery with this key is in progress/.test(String(other.value)),
      ).toBe(true);
    }
    expect(await balanceOf(email)).toBe(600);
    // One grant reached the API; the balance read above is the only other request.
    expect(sandbox().requestCount() - before).toBe(2);
  });

  it('the same key on two connections, or in two Zapier accounts, grants on each', async () => {
    const email = 'shared@example.com';
    await createAccount(email, 0);

    const results = [
      await grant(zapier('acct-1', 'conn-1'), email, 'pi_shared'),
      await grant(zapier('acct-1', 'conn-2'), email, 'pi_shared'),
      await grant(zapier('acct-2', 'conn-1'), email, 'pi_shared'),
      await grant(zapier('acct-1', 'conn-1'), email, 'pi_shared'),
    ];

    expect(results.map((result) => JSON.stringify(result).includes('"replayed":true'))).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(await balanceOf(email)).toBe(1500);
  });
});

describe('what a failed delivery leaves behind', () => {
  it('a refused grant releases the key: once the cause is fixed, the same key grants', async () => {
    const email = 'full@example.com';
    await createAccount(email, Number.MAX_SAFE_INTEGER - 10);

    const refused = await failure(grant(zapier('acct-r', 'conn-r'), email, 'pi_refused'));

    expect(refused.name).toBe('AppError');
    expect(messageOf(refused)).toMatch(
      /rejected a value \(HTTP 422\): Credits must be no more than/,
    );
    expect(await entryOf('acct-r', 'conn-r', sandbox().adminBaseUrl, 'pi_refused')).toBeNull();
    // The owner fixes the account (here: removes it); the same delivery now grants.
    await fetch(`${sandbox().adminBaseUrl}/users`, {
      method: 'DELETE',
      headers: {
        Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ email }),
    });
    await expect(grant(zapier('acct-r', 'conn-r'), email, 'pi_refused')).resolves.toMatchObject({
      credits: 500,
      created: true,
      replayed: false,
    });
  });

  describe('a lost answer keeps the key', () => {
    let proxy: Server;
    let proxyUrl = '';
    let dropNextGrant = false;

    beforeAll(async () => {
      // Forwards to the sandbox; told to, it lets a grant through and then cuts the connection
      // before answering: the API applied the grant, the step never hears of it.
      proxy = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(request.headers)) {
            if (typeof value === 'string' && name !== 'host' && name !== 'content-length') {
              headers.set(name, value);
            }
          }
          const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
          void fetch(`${sandbox().adminBaseUrl}${request.url ?? '/'}`, {
            method: request.method,
            headers,
            body,
          }).then(async (upstream) => {
            const text = await upstream.text();
            if (dropNextGrant && request.method === 'PATCH') {
              dropNextGrant = false;
              request.socket.destroy();
              return;
            }
            response.writeHead(upstream.status, {
              'content-type': upstream.headers.get('content-type') ?? 'text/plain',
            });
            response.end(text);
          });
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const address = proxy.address();
      proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? String(address.port) : '0'}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => proxy.close(resolve));
    });

    it('halts the run, records the key as unknown, and replays halt without granting again', async () => {
      const email = 'lost@example.com';
      await createAccount(email, 0);
      const viaProxy = { ...admin(), baseUrl: proxyUrl };
      dropNextGrant = true;

      const lost = await failure(grant(zapier('acct-l', 'conn-l'), email, 'pi_lost', viaProxy));
      const replay = await failure(grant(zapier('acct-l', 'conn-l'), email, 'pi_lost', viaProxy));

      expect(lost.name).toBe('AppError');
      expect(messageOf(lost)).toMatch(/dropped the connection .*may or may not have been applied/);
      expect(stateOf(await entryOf('acct-l', 'conn-l', proxyUrl, 'pi_lost'))).toBe('unknown');
      expect(replay.name).toBe('AppError');
      expect(messageOf(replay)).toMatch(
        /the run of \S+ with this key may have applied its change without recording its result, so this run sent nothing\. Check the account/,
      );
      expect(await balanceOf(email)).toBe(500);
    });
  });

  it('an expired key grants again', async () => {
    const email = 'expiry@example.com';
    await createAccount(email, 0);
    const first = await grant(zapier('acct-e', 'conn-e'), email, 'pi_expiry');
    clock += (KEY_TTL_SECONDS - 1) * 1000;
    const replayed = await grant(zapier('acct-e', 'conn-e'), email, 'pi_expiry');
    clock += 1000;

    const again = await grant(zapier('acct-e', 'conn-e'), email, 'pi_expiry');

    expect(first).toMatchObject({ replayed: false, credits: 500 });
    expect(replayed).toMatchObject({ replayed: true, credits: 500 });
    expect(again).toMatchObject({ replayed: false, credits: 1000 });
    expect(await balanceOf(email)).toBe(1000);
  });
});
