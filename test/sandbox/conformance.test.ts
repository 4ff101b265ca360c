/**
 * The conformance checks (tools/sandbox/conformance.ts) can fail: real sandbox exchanges, and copies of
 * them broken one way at a time, each named with what is wrong. Then a sweep drives the sandbox to
 * every status it can give and checks that its answers are what the documents declare.
 */
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';

import OpenAPIBackend from 'openapi-backend';

import { createConformance, formatViolation } from '../../tools/sandbox/conformance';
import type { Conformance } from '../../tools/sandbox/conformance';
import { SANDBOX_DEALAI_KEY } from '../../tools/sandbox/server';
import type { Exchange, Sandbox } from '../../tools/sandbox/server';
import { saveTally } from '../support/conformance-report';
import {
  ADMIN_AUTH,
  DEALAI_AUTH,
  call,
  makeTempDir,
  removeTempDir,
  startTestSandbox,
} from './helpers';
import type { CallOptions } from './helpers';

let sandbox: Sandbox;
let conformance: Conformance;

beforeAll(async () => {
  [sandbox, conformance] = await Promise.all([
    startTestSandbox({ record: true }),
    createConformance(),
  ]);
});

afterAll(async () => {
  await sandbox.close();
});

/** Sends one request to the sandbox and returns the exchange it recorded. */
const exchangeOf = async (
  base: string,
  method: string,
  route: string,
  options: CallOptions = {},
): Promise<Exchange> => {
  sandbox.takeExchanges();
  await call(base, method, route, options);
  const exchanges = sandbox.takeExchanges();
  expect(exchanges).toHaveLength(1);
  const [exchange] = exchanges;
  if (exchange === undefined) {
    throw new Error('no exchange recorded');
  }
  return exchange;
};

const admin = (method: string, route: string, options: CallOptions = {}) =>
  exchangeOf(sandbox.adminBaseUrl, method, route, { headers: ADMIN_AUTH, ...options });

const dealai = (method: string, route: string, options: CallOptions = {}) =>
  exchangeOf(sandbox.dealaiBaseUrl, method, route, { headers: DEALAI_AUTH, ...options });

/** What the checks say about one exchange, as `side: message`. */
const problemsOf = (exchange: Exchange): string[] =>
  conformance.check([exchange]).map((violation) => `${violation.side}: ${violation.message}`);

const withoutHeader = (exchange: Exchange, name: string): Exchange => ({
  ...exchange,
  headers: Object.fromEntries(Object.entries(exchange.headers).filter(([key]) => key !== name)),
});

let sequence = 0;
const newEmail = (): string => {
  sequence += 1;
  return `conformance-${String(sequence)}@example.com`;
};

describe('the documents', () => {
  const docs = path.join(__dirname, '..', '..', 'docs');
  const load = (file: string) =>
    // validate: false: only the document is checked here, no validator is compiled.
    new OpenAPIBackend({ definition: path.join(docs, file), strict: true, validate: false }).init();

  it("ours for Deal.ai passes openapi-backend's check of a document", async () => {
    await expect(load('dealai-whitelabel.openapi.json')).resolves.toBeInstanceOf(OpenAPIBackend);
  });

  it("the vendor's fails that check only for `summary` in its schemas, which OpenAPI 3.0 lacks", async () => {
    const error = await load('agentfirst-admin.openapi.json').then(
      () => new Error('no error'),
      (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason))),
    );

    expect(error.message).toMatch(/^Document is not valid OpenAPI\. 15 validation errors/);
    expect(error.message.match(/"additionalProperty": "summary"/g)).toHaveLength(4);
  });
});

describe('conforming exchanges', () => {
  it('finds nothing wrong with the sandbox adding, listing, crediting and removing an account', async () => {
    const email = newEmail();
    const exchanges = [
      await admin('POST', '/users', { body: { email, credits: 5 } }),
      await admin('GET', `/users?email=${encodeURIComponent(email)}&email=other%40example.com`),
      await admin('PATCH', '/users', { body: { email, amount: 10 } }),
      await admin('GET', '/user'),
      await admin('DELETE', '/users', { body: { email } }),
      await dealai('POST', '/users', {
        body: { firstName: 'Jo', email, sendInviteEmail: 'yes', role: 'Basic Plan' },
      }),
      await dealai('PATCH', '/users/role', { body: { email, role: '' } }),
      await dealai('DELETE', '/users', { body: { email } }),
    ];

    expect(exchanges.map((exchange) => exchange.status)).toEqual([
      201, 200, 200, 200, 200, 200, 200, 200,
    ]);
    expect(conformance.check(exchanges)).toEqual([]);
  });
});

describe('a broken copy of a sandbox answer', () => {
  let added: Exchange;
  beforeAll(async () => {
    added = await admin('POST', '/users', { body: { email: newEmail(), credits: 7 } });
  });

  it('without credits is named, exchange and field', () => {
    const broken = { ...added, responseBody: added.responseBody.replace(',"credits":7', '') };

    expect(broken.responseBody).not.toContain('credits');
    expect(conformance.check([broken]).map(formatViolation)).toEqual([
      expect.stringMatching(
        /^#\d+ POST \/users → 201 application\/json \(agentfirst-admin POST \/users\): answer body must have required property 'credits'$/,
      ),
    ]);
  });

  it('with a status the operation does not declare is named', () => {
    expect(problemsOf({ ...added, status: 200 })).toEqual([
      'answer: answer status 200 is not declared for POST /users',
    ]);
  });

  it('that is not JSON though it says so is named', () => {
    expect(problemsOf({ ...added, responseBody: '<html></html>' })).toEqual([
      'answer: answer body is not JSON',
    ]);
  });

  it('with an error in JSON where the document says text is named', async () => {
    const email = newEmail();
    await admin('POST', '/users', { body: { email } });
    const conflict = await admin('POST', '/users', { body: { email } });

    expect(conflict.status).toBe(409);
    expect(problemsOf({ ...conflict, contentType: 'application/json' })).toEqual([
      'answer: answer Content-Type application/json is not declared for 409 (text/plain)',
    ]);
  });

  it('on Deal.ai with a status below 400 that is not 200 is named', async () => {
    const removed = await dealai('DELETE', '/users', { body: { email: newEmail() } });

    expect(removed.status).toBe(404);
    expect(problemsOf({ ...removed, status: 302 })).toEqual([
      'answer: answer status 302 is not declared for DELETE /users',
    ]);
  });
});

describe('a broken copy of a request', () => {
  it('without the Authorization header, or with another scheme, is named', async () => {
    const own = await admin('GET', '/user');

    expect(problemsOf(withoutHeader(own, 'authorization'))).toEqual([
      'request: request header Authorization: Bearer <token> is missing (bearerAuth)',
    ]);
    expect(
      problemsOf({ ...own, headers: { ...own.headers, authorization: 'Basic c2FuZGJveA==' } }),
    ).toEqual(['request: request header Authorization: Bearer <token> is missing (bearerAuth)']);
  });

  it('without the Deal-AI-API-Key header is named', async () => {
    const role = await dealai('PATCH', '/users/role', { body: { email: newEmail() } });

    expect(problemsOf(withoutHeader(role, 'deal-ai-api-key'))).toEqual([
      'request: request header Deal-AI-API-Key is missing (dealaiApiKey)',
    ]);
  });

  it('with a field the Deal.ai page does not list is named', async () => {
    const added = await dealai('POST', '/users', {
      body: { firstName: 'Jo', email: newEmail(), plan: 'Gold' },
    });

    expect(added.status).toBe(200);
    expect(problemsOf(added)).toEqual([
      'request: request/requestBody must NOT have additional properties (plan)',
    ]);
  });

  it('with credits as text, or an address that is not one, is named', async () => {
    const asText = await admin('POST', '/users', { body: { email: newEmail(), credits: '100' } });
    const notAnAddress = await admin('PATCH', '/users', { body: { email: 'nobody', amount: 1 } });

    expect(problemsOf(asText)).toEqual(['request: request/requestBody/credits must be integer']);
    expect(problemsOf(notAnAddress)).toEqual([
      'request: request/requestBody/email must match format "email"',
    ]);
  });

  it('with a query parameter the operation does not take is named', async () => {
    expect(problemsOf(await admin('GET', '/users?emails=a%40example.com'))).toEqual([
      'request: request/query must NOT have additional properties (emails)',
    ]);
  });

  it('with a body the operation does not take, or in another content type, is named', async () => {
    const added = await admin('POST', '/users', { body: { email: newEmail() } });
    const own = await admin('GET', '/user');

    expect(
      problemsOf({ ...added, headers: { ...added.headers, 'content-type': 'text/plain' } }),
    ).toEqual(['request: request Content-Type text/plain is not declared']);
    expect(problemsOf({ ...own, body: '{}' })).toEqual([
      'request: request has a body, but the operation takes none',
    ]);
  });

  it('to a route neither document has is named', async () => {
    const put = await admin('PUT', '/users', { body: { email: newEmail() } });
    const read = await dealai('GET', '/users');

    expect(problemsOf(put)).toEqual([
      'request: agentfirst-admin has no operation PUT /users (a sandbox-only route belongs in NON_API_ROUTES, tools/sandbox/conformance.ts)',
    ]);
    expect(conformance.check([read]).map(formatViolation)).toEqual([
      `#${String(conformance.tally().checked)} GET /api/2024-01/whitelabel/users → 404 application/json: dealai-whitelabel has no operation GET /api/2024-01/whitelabel/users (a sandbox-only route belongs in NON_API_ROUTES, tools/sandbox/conformance.ts)`,
    ]);
  });
});

describe('what is not a violation', () => {
  it("the Deal.ai connection test's empty body, and only that body", async () => {
    const before = conformance.tally().deliberate;
    const keyCheck = await dealai('PATCH', '/users/role', { body: {} });
    const noEmail = await dealai('PATCH', '/users/role', { body: { role: 'Basic Plan' } });

    expect(keyCheck.status).toBe(422);
    expect(problemsOf(keyCheck)).toEqual([]);
    expect(problemsOf(withoutHeader(keyCheck, 'deal-ai-api-key'))).toEqual([
      'request: request header Deal-AI-API-Key is missing (dealaiApiKey)',
    ]);
    expect(problemsOf(noEmail)).toEqual([
      "request: request/requestBody must have required property 'email'",
    ]);
    expect(conformance.tally().deliberate - before).toBe(2);
  });

  it('a sandbox-only route (Zapier RPC, test controls), which is counted as skipped', async () => {
    const own = await admin('GET', '/user');
    const before = conformance.tally();

    expect(
      conformance.check([
        { ...own, method: 'POST', path: '/zapier/rpc', status: 418 },
        { ...own, method: 'POST', path: '/sandbox/consume', status: 418 },
      ]),
    ).toEqual([]);
    expect(conformance.tally()).toMatchObject({
      checked: before.checked,
      skipped: before.skipped + 2,
    });
  });
});

describe('the sandbox answers every status it can give as the documents declare', () => {
  const dir = makeTempDir();
  let sweep: Conformance;
  let limited: Sandbox;
  let locked: Sandbox;

  beforeAll(async () => {
    [sweep, limited, locked] = await Promise.all([
      createConformance(),
      startTestSandbox({ record: true, rateLimit: { max: 1, windowMs: 60_000 } }),
      startTestSandbox({ record: true, dbPath: path.join(dir, 'sandbox.sqlite') }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([limited.close(), locked.close()]);
    removeTempDir(dir);
    saveTally(
      'the sandbox sweep (test/sandbox/conformance.test.ts, whose requests are broken on purpose)',
      sweep.tally(),
    );
  });

  const wrongKey = { Authorization: 'Bearer nope' };
  const body = (value: unknown): CallOptions => ({ body: value });
  const cases: [string, string, CallOptions, number][] = [
    ['POST', '/users', { ...body({ email: 'sweep@example.com', credits: 3 }) }, 201],
    ['POST', '/users', { ...body({ email: 'sweep@example.com' }) }, 409],
    ['POST', '/users', { rawBody: '{"email":' }, 400],
    ['POST', '/users', { ...body({ email: 'not an address' }) }, 422],
    ['POST', '/users', { headers: {}, ...body({ email: 'a@example.com' }) }, 401],
    ['POST', '/users', { headers: wrongKey, ...body({ email: 'a@example.com' }) }, 403],
    ['GET', '/users', {}, 200],
    ['GET', '/users', { headers: {} }, 401],
    ['GET', '/users', { headers: wrongKey }, 403],
    ['PATCH', '/users', { ...body({ email: 'sweep@example.com', amount: 1 }) }, 200],
    ['PATCH', '/users', { ...body({ email: 'nobody@example.com', amount: 1 }) }, 404],
    ['PATCH', '/users', { rawBody: '{' }, 400],
    ['PATCH', '/users', { ...body({ email: 'sweep@example.com', amount: 0 }) }, 422],
    ['PATCH', '/users', { headers: {}, ...body({ email: 'a@example.com', amount: 1 }) }, 401],
    ['PATCH', '/users', { headers: wrongKey, ...body({ email: 'a@example.com', amount: 1 }) }, 403],
    ['DELETE', '/users', { ...body({ email: 'sweep@example.com' }) }, 200],
    ['DELETE', '/users', { ...body({ email: 'nobody@example.com' }) }, 404],
    ['DELETE', '/users', { rawBody: '{' }, 400],
    ['DELETE', '/users', { ...body({ email: '' }) }, 422],
    ['DELETE', '/users', { headers: {}, ...body({ email: 'a@example.com' }) }, 401],
    ['DELETE', '/users', { headers: wrongKey, ...body({ email: 'a@example.com' }) }, 403],
    ['GET', '/user', {}, 200],
    ['GET', '/user', { headers: {} }, 401],
    ['GET', '/user', { headers: wrongKey }, 403],
  ];

  /** Sends each case to `target` and returns the statuses and the answers' violations. */
  const run = async (target: Sandbox, base: string, list: [string, string, CallOptions][]) => {
    target.takeExchanges();
    const statuses: number[] = [];
    for (const [method, route, options] of list) {
      const response = await call(base, method, route, options);
      statuses.push(response.status);
    }
    const answers = sweep
      .check(target.takeExchanges())
      .filter((violation) => violation.side === 'answer')
      .map(formatViolation);
    return { statuses, answers };
  };

  it('Administration API: 200, 201, 400, 401, 403, 404, 409 and 422', async () => {
    const list = cases.map(([method, route, options]): [string, string, CallOptions] => [
      method,
      route,
      { ...options, headers: options.headers ?? ADMIN_AUTH },
    ]);

    const { statuses, answers } = await run(sandbox, sandbox.adminBaseUrl, list);

    expect(statuses).toEqual(cases.map(([, , , status]) => status));
    expect(answers).toEqual([]);
  });

  it('Deal.ai White Label: 200 and 400, 401, 403, 404, 409 and 422', async () => {
    const email = 'sweep-dealai@example.com';
    const key = { 'Deal-AI-API-Key': SANDBOX_DEALAI_KEY };
    const list: [string, string, CallOptions][] = [
      ['POST', '/users', { headers: key, body: { firstName: 'Sw', email } }],
      ['POST', '/users', { headers: key, body: { firstName: 'Sw', email } }],
      ['POST', '/users', { headers: key, body: { email } }],
      ['POST', '/users', { headers: key, rawBody: '{' }],
      ['PATCH', '/users/role', { body: { email } }],
      ['PATCH', '/users/role', { headers: { 'Deal-AI-API-Key': 'nope' }, body: { email } }],
      ['PATCH', '/users/role', { headers: key, body: { email, role: 'Premium Plan' } }],
      ['PATCH', '/users/role', { headers: key, body: { email: 'nobody@example.com' } }],
      ['DELETE', '/users', { headers: key, body: { email } }],
      ['DELETE', '/users', { headers: key, body: { email } }],
    ];

    const { statuses, answers } = await run(sandbox, sandbox.dealaiBaseUrl, list);

    expect(statuses).toEqual([200, 409, 422, 400, 401, 403, 200, 404, 200, 404]);
    expect(answers).toEqual([]);
  });

  it('429 on every operation once the rate limit is spent', async () => {
    const adminRoutes: [string, string, CallOptions][] = [
      ['GET', '/user', { headers: ADMIN_AUTH }],
      ['POST', '/users', { headers: ADMIN_AUTH, body: { email: 'a@example.com' } }],
      ['GET', '/users', { headers: ADMIN_AUTH }],
      ['PATCH', '/users', { headers: ADMIN_AUTH, body: { email: 'a@example.com', amount: 1 } }],
      ['DELETE', '/users', { headers: ADMIN_AUTH, body: { email: 'a@example.com' } }],
      ['GET', '/user', { headers: ADMIN_AUTH }],
    ];
    const dealaiRoutes: [string, string, CallOptions][] = [
      [
        'POST',
        '/users',
        { headers: DEALAI_AUTH, body: { firstName: 'A', email: 'a@example.com' } },
      ],
      ['DELETE', '/users', { headers: DEALAI_AUTH, body: { email: 'a@example.com' } }],
      ['PATCH', '/users/role', { headers: DEALAI_AUTH, body: { email: 'a@example.com' } }],
    ];

    const onAdmin = await run(limited, limited.adminBaseUrl, adminRoutes);
    const onDealai = await run(limited, limited.dealaiBaseUrl, dealaiRoutes);

    expect(onAdmin).toEqual({ statuses: [200, 429, 429, 429, 429, 429], answers: [] });
    expect(onDealai).toEqual({ statuses: [200, 429, 429], answers: [] });
  });

  it('500 while its database is locked, wherever a request needs to write', async () => {
    const routes: [string, string, CallOptions][] = [
      ['POST', '/users', { headers: ADMIN_AUTH, body: { email: 'b@example.com' } }],
      ['PATCH', '/users', { headers: ADMIN_AUTH, body: { email: 'b@example.com', amount: 1 } }],
      ['DELETE', '/users', { headers: ADMIN_AUTH, body: { email: 'b@example.com' } }],
    ];
    const dealaiRoutes: [string, string, CallOptions][] = [
      [
        'POST',
        '/users',
        { headers: DEALAI_AUTH, body: { firstName: 'B', email: 'b@example.com' } },
      ],
      ['PATCH', '/users/role', { headers: DEALAI_AUTH, body: { email: 'b@example.com' } }],
      ['DELETE', '/users', { headers: DEALAI_AUTH, body: { email: 'b@example.com' } }],
    ];
    const locker = new DatabaseSync(path.join(dir, 'sandbox.sqlite'));
    try {
      locker.exec('BEGIN EXCLUSIVE');

      const onAdmin = await run(locked, locked.adminBaseUrl, routes);
      const onDealai = await run(locked, locked.dealaiBaseUrl, dealaiRoutes);

      expect(onAdmin).toEqual({ statuses: [500, 500, 500], answers: [] });
      expect(onDealai).toEqual({ statuses: [500, 500, 500], answers: [] });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
  });
});
