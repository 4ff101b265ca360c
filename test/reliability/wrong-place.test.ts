/**
 * A Base URL that points at the wrong place, as real servers answer there: a router's 404 or 405
 * on every path, a catch-all 200, a web page, and the sandbox itself under a wrong path (whose
 * unknown paths answer 404 before authentication). Over real loopback sockets, through the app's
 * handler (the harness, tools/harness.ts). No connection test passes, and no step reports a success it did
 * not do: each fails with an error that names the Base URL.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

import nock from 'nock';

import App from '../../index';
import { INVALID_KEY } from '../../src/client';
import { startSandbox } from '../../tools/sandbox/server';
import type { Sandbox } from '../../tools/sandbox/server';
import { inApp, callable, failure, messageOf, payloadOf, run } from '../helpers';

interface Stub {
  title: string;
  status: number;
  type: string;
  body: string;
}

const STUBS: Stub[] = [
  {
    title: "a router's 404 on every path",
    status: 404,
    type: 'application/json',
    body: JSON.stringify({ error: 'Not Found' }),
  },
  {
    title: 'a 405 Method Not Allowed on every path',
    status: 405,
    type: 'text/plain',
    body: 'Method Not Allowed',
  },
  {
    title: 'a catch-all 200',
    status: 200,
    type: 'application/json',
    body: JSON.stringify({ ok: true }),
  },
  {
    title: 'a web page',
    status: 200,
    type: 'text/html; charset=utf-8',
    body: '<!doctype html><title>Welcome</title>',
  },
  {
    title: 'a "page not found" web page',
    status: 404,
    type: 'text/html',
    body: '<!doctype html><title>Page not found</title>',
  },
];

/** Keys that each request carried, in order: the second of a Deal.ai check is INVALID_KEY. */
const keys: string[] = [];

const listen = async (stub: Stub): Promise<{ url: string; close: () => Promise<void> }> => {
  const server: Server = createServer((request, response) => {
    const key = request.headers['deal-ai-api-key'] ?? request.headers.authorization ?? '';
    keys.push(Array.isArray(key) ? key.join(',') : key);
    request.resume();
    request.on('end', () => {
      response.writeHead(stub.status, { 'Content-Type': stub.type });
      response.end(stub.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
};

const connectionTest = (authData: Record<string, string>) =>
  inApp(callable(App.authentication?.test), { authData });

const PROVIDERS = [
  ['Deal.ai', 'dealai', 'Deal.ai White Label'],
  ['the Administration API', 'admin', 'Administration API'],
] as const;

/** Every step that writes, with input that would succeed against the API. */
const STEPS = [
  ['Remove User, Succeed If Already Gone', App.creates.remove_user, { ignoreMissing: 'yes' }],
  ['Remove User', App.creates.remove_user, {}],
  ['Add User', App.creates.add_user, {}],
] as const;

/** A connection test's error says the Base URL does not reach the API, and names it. */
const expectWrongPlace = (error: Error, baseUrl: string) => {
  expect(error.name).toBe('AppError');
  const message = messageOf(error);
  expect(message).toContain(baseUrl);
  expect(message).toContain("Check the connection's Base URL.");
  expect(['WrongBaseUrl', 'UnexpectedResponse']).toContain(payloadOf(error).code);
};

/** A step's error is reported to the owner and points at the Base URL. */
const expectNoSuccess = (error: Error) => {
  expect(error.name).toBe('AppError');
  expect(messageOf(error)).toMatch(/check the connection's Base URL\./i);
};

beforeAll(() => {
  nock.enableNetConnect('127.0.0.1');
});

afterAll(() => {
  nock.disableNetConnect();
});

beforeEach(() => {
  keys.length = 0;
});

describe.each(STUBS)('a Base URL that reaches $title', (stub) => {
  let local: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    local = await listen(stub);
  });

  afterAll(async () => {
    await local.close();
  });

  it.each(PROVIDERS)('fails the connection test on %s, naming the Base URL', async (_t, id) => {
    const baseUrl = `${local.url}/api`;
    const error = await failure(connectionTest({ provider: id, apiKey: 'k-1', baseUrl }));

    expectWrongPlace(error, baseUrl);
    expect(keys.every((key) => key !== '')).toBe(true);
  });

  // Deal.ai documents its answers as "200 OK" without a body, so a step trusts any 200 that is
  // not a web page: a catch-all 200 is caught by the connection test (above), not by each step.
  const steps = PROVIDERS.flatMap(([title, id]) =>
    STEPS.map(([step, action, input]) => [step, title, id, action, input] as const),
  ).filter(([, , id]) => !(id === 'dealai' && stub.status === 200 && !stub.type.includes('html')));

  it.each(steps)('%s on %s reports no success', async (_step, _title, id, action, input) => {
    const baseUrl = `${local.url}/v1`;
    const outcome = run(
      action,
      { provider: id, apiKey: 'k-1', baseUrl },
      { email: 'ann@example.com', ...(id === 'dealai' ? { firstName: 'Ann' } : {}), ...input },
    );

    expectNoSuccess(await failure(outcome));
  });

  it('Provision Credits (Add) reports no success, and grants nothing', async () => {
    const error = await failure(
      run(
        App.creates.provision_credits,
        { provider: 'admin', apiKey: 'k-1', baseUrl: local.url },
        { email: 'ann@example.com', credits: '500', mode: 'add' },
      ),
    );

    expectNoSuccess(error);
  });
});

describe('the sandbox under a wrong path: unknown paths answer 404 before authentication', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it.each(PROVIDERS)(
    'fails the connection test on %s with any key, naming the Base URL',
    async (_t, id) => {
      const baseUrl = `${sandbox.url}/api/2023-01/whitelabel`;
      for (const apiKey of ['sandbox-dealai-key', 'sandbox-admin-token', 'wrong']) {
        const error = await failure(connectionTest({ provider: id, apiKey, baseUrl }));
        expect(payloadOf(error)).toMatchObject({ code: 'WrongBaseUrl' });
        expect(messageOf(error)).toContain(`The Base URL ${baseUrl} does not reach the`);
      }
    },
  );

  it.each([
    ['Deal.ai', 'dealai', 'sandbox-dealai-key'],
    ['the Administration API', 'admin', 'sandbox-admin-token'],
  ])(
    'Remove User, Succeed If Already Gone, on %s: an error, not "removed: false"',
    async (_t, id, apiKey) => {
      const baseUrl = `${sandbox.url}/v2`;

      const error = await failure(
        run(
          App.creates.remove_user,
          { provider: id, apiKey, baseUrl },
          { email: 'ann@example.com', ignoreMissing: 'yes' },
        ),
      );

      expect(payloadOf(error)).toMatchObject({ code: 'WrongBaseUrl' });
      expect(messageOf(error)).toMatch(/answered HTTP 404 \(application\/json\): Not Found\./);
    },
  );

  it('on the right path the same checks pass: the API refuses a key that cannot be valid', async () => {
    keys.length = 0;
    await expect(
      connectionTest({
        provider: 'dealai',
        apiKey: 'sandbox-dealai-key',
        baseUrl: sandbox.dealaiBaseUrl,
      }),
    ).resolves.toMatchObject({ provider: 'dealai' });
    await expect(
      run(
        App.creates.remove_user,
        { provider: 'dealai', apiKey: 'sandbox-dealai-key', baseUrl: sandbox.dealaiBaseUrl },
        { email: 'nobody@example.com', ignoreMissing: 'yes' },
      ),
    ).resolves.toMatchObject({ removed: false });
    expect(INVALID_KEY).not.toBe('sandbox-dealai-key');
  });
});
