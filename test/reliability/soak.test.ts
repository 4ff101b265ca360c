/**
 * The fault soak: Provision Credits (Add) with an Idempotency Key, run as Zapier's Lambda runs it
 * (the app's handler, with `rpc_base` and a token), over real loopback sockets, against the
 * sandbox of both APIs behind a proxy that injects faults:
 *
 * - the API answers 500, or 429 with Retry-After (the request is not passed on);
 * - the connection is cut before the request reaches the API (not passed on);
 * - the connection is cut after the API applied the request (its answer is lost);
 * - the answer is slow (held back, within the request timeout);
 * - Zapier's cache RPC answers 500 (not passed on), or loses its answer after the cache applied
 *   the call (passed on, then 500): the runtime retries an RPC call up to 3 times.
 *
 * Hundreds of payments, one account each, each delivered one to three times, some of them at the
 * same moment; then every payment is replayed once more with the faults off. It holds when no
 * payment is applied twice, no delivery reports a success for a payment that was never applied,
 * and every payment is applied in the end, unless a connection was cut mid-write for it: then its
 * replay refuses and says so. Seeded (the faults of each payment come from the seed, its email and
 * the count of its requests) and bounded (a fixed number of runs, with a deadline). The figures
 * are printed to the test log.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import nock from 'nock';

import { SANDBOX_ADMIN_TOKEN, postAsOwner, startSandbox } from '../../tools/sandbox/server';
import type { Sandbox } from '../../tools/sandbox/server';
import { execute } from '../support/lambda';

const SEED = 16;
const PAYMENTS = 240;
const WORKERS = 8;
/** The soak stops sending new deliveries after this long (it must finish well inside Jest's 90 s). */
const DEADLINE_MS = 45_000;
const SLOW_MS = { min: 150, max: 900 } as const;

type ApiFault = 'api5xx' | 'api429' | 'cutBefore' | 'cutAfter' | 'slow';
type RpcFault = 'rpc5xx' | 'rpcLost';
type Fault = ApiFault | RpcFault;

/** The chance of each fault per request, in thousandths. */
const API_ODDS: readonly [ApiFault, number][] = [
  ['api5xx', 40],
  ['api429', 40],
  ['cutBefore', 30],
  ['cutAfter', 30],
  ['slow', 60],
];
const RPC_ODDS: readonly [RpcFault, number][] = [
  ['rpc5xx', 50],
  ['rpcLost', 50],
];

/** A number in [0, 1000) from the seed and the request's identity: the same on every run. */
const draw = (...parts: (string | number)[]): number =>
  createHash('sha256')
    .update([SEED, ...parts].join('|'))
    .digest()
    .readUInt32BE(0) % 1000;

const pick = <F extends Fault>(odds: readonly [F, number][], roll: number): F | undefined => {
  let edge = 0;
  for (const [fault, chance] of odds) {
    edge += chance;
    if (roll < edge) {
      return fault;
    }
  }
  return undefined;
};

interface Proxy {
  url: string;
  faultsOn: boolean;
  injected: Record<Fault, number>;
  /** Payments (by email) whose connection was cut during one of their API requests. */
  cut: Set<string>;
  close: () => Promise<void>;
}

const readBody = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    request.on('error', reject);
  });

/** Passes a request on to the sandbox; resolves with its whole answer. */
const forward = (
  target: URL,
  request: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        readBody(answer).then((content) => {
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: content });
        }, reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });

const startProxy = async (sandbox: Sandbox): Promise<Proxy> => {
  const target = new URL(sandbox.url);
  const counts = new Map<string, number>();
  const injected: Record<Fault, number> = {
    api5xx: 0,
    api429: 0,
    cutBefore: 0,
    cutAfter: 0,
    slow: 0,
    rpc5xx: 0,
    rpcLost: 0,
  };
  const cut = new Set<string>();
  const proxy: Proxy = { url: '', faultsOn: true, injected, cut, close: async () => {} };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    const text = body.toString('utf8');
    const rpc = (request.url ?? '').startsWith('/zapier/');
    // Whose request this is: the payment's email (API) or Idempotency Key (RPC), and its count.
    const owner = rpc
      ? (/pi_soak_\d+/.exec(text)?.[0] ?? 'rpc')
      : (/"email":"([^"]+)"/.exec(text)?.[1] ?? 'api');
    const nth = (counts.get(owner) ?? 0) + 1;
    counts.set(owner, nth);
    const roll = draw(owner, nth);
    const fault = !proxy.faultsOn ? undefined : rpc ? pick(RPC_ODDS, roll) : pick(API_ODDS, roll);
    if (fault !== undefined) {
      injected[fault] += 1;
    }
    const send = (status: number, headers: Record<string, string>, content: Buffer | string) => {
      response.writeHead(status, headers);
      response.end(content);
    };
    switch (fault) {
      case 'api5xx': {
        send(500, { 'Content-Type': 'text/plain' }, 'Unknown error occurred');
        return;
      }
      case 'api429': {
        send(
          429,
          { 'Content-Type': 'text/plain', 'Retry-After': '1' },
          'Rate limit was exceeded; please retry in 1 seconds',
        );
        return;
      }
      case 'rpc5xx': {
        send(500, { 'Content-Type': 'text/plain' }, 'Internal Server Error');
        return;
      }
      case 'cutBefore':
        cut.add(owner);
        request.socket.destroy();
        return;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, SLOW_MS.min + (roll % SLOW_MS.max)));
        break;
      default:
        break;
    }
    const answer = await forward(target, request, body);
    if (fault === 'cutAfter') {
      cut.add(owner);
      request.socket.destroy();
      return;
    }
    if (fault === 'rpcLost') {
      send(500, { 'Content-Type': 'text/plain' }, 'Internal Server Error');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (typeof value === 'string' && !['connection', 'transfer-encoding'].includes(name)) {
        headers[name] = value;
      }
    }
    send(answer.status, headers, answer.body);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      request.socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  proxy.url = `http://127.0.0.1:${String(port)}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return proxy;
};

interface Payment {
  index: number;
  email: string;
  amount: number;
  key: string;
  /** Whether the account exists before the payment (else the grant creates it). */
  seeded: boolean;
  deliveries: number;
  concurrent: boolean;
}

type Result =
  | { ok: true; output: Record<string, unknown> }
  | { ok: false; name: string; code: string | undefined; message: string };

const payments: Payment[] = Array.from({ length: PAYMENTS }, (_, index) => ({
  index,
  email: `p${String(index)}@soak.test`,
  amount: 10 + (draw('amount', index) % 90),
  key: `pi_soak_${String(index)}`,
  seeded: draw('seeded', index) < 500,
  deliveries: 1 + (draw('deliveries', index) % 3),
  concurrent: draw('concurrent', index) < 400,
}));

/** A Zapier error as the handler rejects with it: its class, and the code and message inside. */
const resultOf = (error: unknown): Result => {
  const name = error instanceof Error ? error.name : 'Error';
  const text = error instanceof Error ? error.message : String(error);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const code: unknown = Reflect.get(parsed, 'code');
      const message: unknown = Reflect.get(parsed, 'message');
      return {
        ok: false,
        name,
        code: typeof code === 'string' ? code : undefined,
        message: typeof message === 'string' ? message : text,
      };
    }
  } catch {
    // a plain message
  }
  return { ok: false, name, code: undefined, message: text };
};

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};

describe('fault soak: Provision Credits with Idempotency Keys through the handler', () => {
  let sandbox: Sandbox;
  let proxy: Proxy;

  beforeAll(async () => {
    // Jest shares Node's http module within a worker: activate this file's nock, restore it after.
    if (!nock.isActive()) {
      nock.activate();
    }
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    sandbox = await startSandbox({ port: 0, rateLimit: { max: 1_000_000, windowMs: 60_000 } });
    process.env.LOGGING_ENDPOINT = sandbox.zapier.logUrl;
    proxy = await startProxy(sandbox);
    await postAsOwner(sandbox, '/sandbox/accounts', {
      accounts: payments
        .filter((payment) => payment.seeded)
        .map((payment) => ({ email: payment.email, credits: 0 })),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await sandbox.close();
    nock.enableNetConnect();
    nock.restore();
  });

  const deliver = async (payment: Payment): Promise<Result> => {
    try {
      const output = await execute(
        'creates.provision_credits.operation.perform',
        {
          authData: { provider: 'admin', apiKey: SANDBOX_ADMIN_TOKEN, baseUrl: proxy.url },
          inputData: {
            email: payment.email,
            credits: String(payment.amount),
            mode: 'add',
            idempotencyKey: payment.key,
          },
        },
        {
          rpcBase: `${proxy.url}/zapier/rpc`,
          token: sandbox.zapier.issueToken({ account: 'soak-account', connection: 'soak-conn' }),
        },
      );
      return { ok: true, output: asRecord(output) };
    } catch (error) {
      return resultOf(error);
    }
  };

  /** Every payment's balance, read straight from the sandbox (no faults). */
  const balances = async (): Promise<Map<string, number>> => {
    const response = await fetch(`${sandbox.adminBaseUrl}/users`, {
      headers: { Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}` },
    });
    const accounts: unknown = await response.json();
    const found = new Map<string, number>();
    for (const account of Array.isArray(accounts) ? accounts : []) {
      const { email, credits } = asRecord(account);
      if (typeof email === 'string' && typeof credits === 'number') {
        found.set(email, credits);
      }
    }
    return found;
  };

  it('applies no payment twice, reports no success that was not applied, and applies every payment unless cut mid-write', async () => {
    const began = Date.now();
    const results = new Map<number, Result[]>();
    const queue = [...payments];
    let overDeadline = 0;
    const worker = async () => {
      for (let payment = queue.shift(); payment !== undefined; payment = queue.shift()) {
        if (Date.now() - began > DEADLINE_MS) {
          overDeadline += 1;
          continue;
        }
        const own: Result[] = [];
        if (payment.concurrent && payment.deliveries > 1) {
          own.push(...(await Promise.all([deliver(payment), deliver(payment)])));
          for (let i = 2; i < payment.deliveries; i += 1) {
            own.push(await deliver(payment));
          }
        } else {
          for (let i = 0; i < payment.deliveries; i += 1) {
            own.push(await deliver(payment));
          }
        }
        results.set(payment.index, own);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const soakMs = Date.now() - began;

    // Every payment once more, with the faults off: as the owner's replay, or a late webhook.
    proxy.faultsOn = false;
    const replays = new Map<number, Result>();
    const again = [...payments];
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        for (let payment = again.shift(); payment !== undefined; payment = again.shift()) {
          replays.set(payment.index, await deliver(payment));
        }
      }),
    );
    const totalMs = Date.now() - began;

    const balance = await balances();
    const applied = (payment: Payment): number =>
      (balance.get(payment.email) ?? 0) / payment.amount;

    const twice = payments.filter((payment) => applied(payment) > 1).map((p) => p.email);
    const falseSuccess = payments.filter(
      (payment) =>
        applied(payment) === 0 && (results.get(payment.index) ?? []).some((result) => result.ok),
    );
    const lost = payments.filter(
      (payment) => applied(payment) !== 1 && !proxy.cut.has(payment.email),
    );
    const refused = payments.filter((payment) => !(replays.get(payment.index)?.ok ?? false));
    const refusedUnsaid = refused.filter((payment) => {
      const replay = replays.get(payment.index);
      return !(
        replay !== undefined &&
        !replay.ok &&
        replay.name === 'AppError' &&
        replay.code === 'MaybeApplied' &&
        /may have applied its change/.test(replay.message) &&
        proxy.cut.has(payment.email)
      );
    });
    const wrongOutput = payments.filter((payment) =>
      [...(results.get(payment.index) ?? []), replays.get(payment.index)].some(
        (result) =>
          result?.ok === true &&
          (result.output.credits !== payment.amount || result.output.granted !== payment.amount),
      ),
    );

    const all = [...results.values()].flat();
    const tally = (test: (result: Result) => boolean) => all.filter(test).length;
    const figures = {
      seed: SEED,
      payments: PAYMENTS,
      deliveries: all.length,
      concurrentPairs: payments.filter((p) => p.concurrent && p.deliveries > 1).length,
      faultsInjected: { ...proxy.injected },
      deliveryOutcomes: {
        succeeded: tally((r) => r.ok && r.output.replayed === false),
        replayedResult: tally((r) => r.ok && r.output.replayed === true),
        halted: tally((r) => !r.ok && r.name === 'HaltedError'),
        throttled: tally((r) => !r.ok && r.name === 'ThrottledError'),
        maybeApplied: tally((r) => !r.ok && r.code === 'MaybeApplied'),
        otherErrors: tally(
          (r) =>
            !r.ok &&
            !['HaltedError', 'ThrottledError'].includes(r.name) &&
            r.code !== 'MaybeApplied',
        ),
      },
      paymentsCut: proxy.cut.size,
      appliedOnce: payments.filter((payment) => applied(payment) === 1).length,
      appliedTwice: twice.length,
      neverApplied: payments.filter((payment) => applied(payment) === 0).length,
      finalReplays: replays.size,
      refusedReplays: refused.length,
      ms: { soak: soakMs, total: totalMs },
    };
    // The figures for the closing note (Jest prints this in the test log).
    console.log(`Fault soak figures: ${JSON.stringify(figures, null, 2)}`);

    expect(overDeadline).toBe(0);
    expect(replays.size).toBe(PAYMENTS);
    expect(twice).toEqual([]);
    expect(falseSuccess.map((payment) => payment.email)).toEqual([]);
    expect(lost.map((payment) => payment.email)).toEqual([]);
    expect(refusedUnsaid.map((payment) => [payment.email, replays.get(payment.index)])).toEqual([]);
    expect(wrongOutput.map((payment) => payment.email)).toEqual([]);
    // The soak injected every kind of fault, and some of each outcome, so it can fail.
    for (const count of Object.values(proxy.injected)) {
      expect(count).toBeGreaterThan(0);
    }
    expect(figures.deliveryOutcomes.halted).toBeGreaterThan(0);
    expect(figures.deliveryOutcomes.replayedResult).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
  }, 90_000);
});
