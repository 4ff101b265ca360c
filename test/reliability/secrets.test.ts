/**
 * Secrets: the connection's API key never appears in an error message (with the platform's
 * "What happened" context), an output, a sample, or a log line the platform records, on success
 * and on every error path, even when the API echoes the key back in its error body.
 *
 * The log lines are the ones Zapier's logger ships to its log service: with LOGGING_ENDPOINT and
 * LOGGING_TOKEN set, zapier-platform-core (src/tools/create-logger.js) streams every line, after
 * its own scrubbing, as JSON Lines in a POST to that endpoint, which nock captures here. That
 * stream carries one line per HTTP request (headers, bodies, status) and one per unhandled error.
 */
import nock from 'nock';

import App from '../../index';
import {
  ADMIN_ORIGIN,
  DEALAI_ORIGIN,
  DEALAI_PATH,
  dealaiWithInvalidKey,
  inApp,
  callable,
  failure,
  messageOf,
} from '../helpers';
import { ROUTES, recordRoutes } from './support';
import type { Sent } from './support';

const SECRET = 'sk_SECRET_abc123XYZ';
const dealaiAuth = { provider: 'dealai', apiKey: SECRET };
const adminAuth = { provider: 'admin', apiKey: SECRET };
const EMAIL = 'jane@example.com';

const LOG_ORIGIN = 'https://logs.secrets.invalid';
const logLines: string[] = [];

const saved = { endpoint: process.env.LOGGING_ENDPOINT, token: process.env.LOGGING_TOKEN };
const restore = (name: 'LOGGING_ENDPOINT' | 'LOGGING_TOKEN', value: string | undefined) => {
  if (value === undefined) {
    Reflect.deleteProperty(process.env, name);
  } else {
    process.env[name] = value;
  }
};

beforeAll(() => {
  process.env.LOGGING_ENDPOINT = `${LOG_ORIGIN}/input`;
  process.env.LOGGING_TOKEN = 'log-stream-token';
});

afterAll(() => {
  restore('LOGGING_ENDPOINT', saved.endpoint);
  restore('LOGGING_TOKEN', saved.token);
});

/** Nock scopes that answer only requests carrying SECRET the provider's way. */
const dealaiScope = () =>
  nock(`${DEALAI_ORIGIN}${DEALAI_PATH}`, {
    reqheaders: { 'deal-ai-api-key': SECRET },
    badheaders: ['authorization'],
  });
const adminScope = () =>
  nock(ADMIN_ORIGIN, {
    reqheaders: { authorization: `Bearer ${SECRET}` },
    badheaders: ['deal-ai-api-key'],
  });

type Provider = 'dealai' | 'admin';

interface Variant {
  title: string;
  provider: Provider;
  start: (authData: Record<string, string>, inputData: Record<string, unknown>) => Promise<unknown>;
  input: Record<string, unknown>;
  /** An input that fails the action's own checks, before any request. */
  badInput: Record<string, unknown>;
  badAuth?: Record<string, string>;
  success: (request: Sent) => nock.ReplyFnResult;
}

const perform = (action: { operation: { perform?: unknown } }) =>
  callable(action.operation.perform);
const step =
  (action: { operation: { perform?: unknown } }) =>
  (authData: Record<string, string>, inputData: Record<string, unknown>) =>
    inApp(perform(action), { authData, inputData });
const connectionTest = (authData: Record<string, string>) =>
  inApp(callable(App.authentication?.test), { authData });

const VARIANTS: Variant[] = [
  {
    title: 'Add User on Deal.ai',
    provider: 'dealai',
    start: step(App.creates.add_user),
    input: { firstName: 'Jane', email: EMAIL, password: 'hunter22', sendInviteEmail: 'yes' },
    badInput: { firstName: '', email: EMAIL },
    success: () => [200, { message: 'User created', email: EMAIL }],
  },
  {
    title: 'Add User on the Administration API',
    provider: 'admin',
    start: step(App.creates.add_user),
    input: { email: EMAIL, credits: 5 },
    badInput: { email: EMAIL, credits: -5 },
    success: () => [201, { email: EMAIL, token: 'a1-newAccountToken', credits: 5 }],
  },
  {
    title: 'Provision Credits, Add',
    provider: 'admin',
    start: step(App.creates.provision_credits),
    input: { email: EMAIL, credits: 5, mode: 'add' },
    badInput: { email: EMAIL, credits: 5, mode: 'twice' },
    success: () => [200, { email: EMAIL, credits: 105 }],
  },
  {
    title: 'Provision Credits, Top Up',
    provider: 'admin',
    start: step(App.creates.provision_credits),
    input: { email: EMAIL, credits: 500, mode: 'atLeast' },
    badInput: { email: EMAIL, credits: '1e3', mode: 'atLeast' },
    success: (request) =>
      request.method === 'GET'
        ? [200, [{ email: EMAIL, credits: 100 }]]
        : [200, { email: EMAIL, credits: 500 }],
  },
  {
    title: 'Change Role on Deal.ai',
    provider: 'dealai',
    start: step(App.creates.change_role),
    input: { email: EMAIL, role: 'Premium Plan' },
    badInput: { email: EMAIL, role: ' ' },
    success: () => [200, ''],
  },
  {
    title: 'Remove User on Deal.ai',
    provider: 'dealai',
    start: step(App.creates.remove_user),
    input: { email: EMAIL },
    badInput: { email: 'jane at example.com' },
    success: () => [200, { message: 'User removed' }],
  },
  {
    title: 'Remove User on the Administration API',
    provider: 'admin',
    start: step(App.creates.remove_user),
    input: { email: EMAIL },
    badInput: { email: EMAIL, ignoreMissing: 'maybe' },
    success: () => [200, { email: EMAIL, credits: 0 }],
  },
  {
    title: 'Find User',
    provider: 'admin',
    start: step(App.searches.find_user),
    input: { email: EMAIL },
    badInput: { email: '' },
    success: () => [200, [{ email: EMAIL, credits: 5 }]],
  },
  {
    title: 'the connection test on Deal.ai',
    provider: 'dealai',
    start: (authData) => connectionTest(authData),
    input: {},
    badInput: {},
    badAuth: { baseUrl: 'http://example.com/api' },
    // Deal.ai refuses the empty role change, which proves the key was accepted.
    success: () => [422, { error: 'email is required' }],
  },
  {
    title: 'the connection test on the Administration API',
    provider: 'admin',
    start: (authData) => connectionTest(authData),
    input: {},
    badInput: {},
    badAuth: { baseUrl: 'not a url' },
    success: () => [200, [{ email: 'owner@example.com', credits: 0 }]],
  },
];

const echo = (provider: Provider, status: number, words: string): nock.ReplyFnResult =>
  provider === 'dealai'
    ? [status, { error: `${words} (key ${SECRET})` }]
    : [status, `${words}: ${SECRET}`, { 'Content-Type': 'text/plain' }];

/** Every way a request can end; all error bodies echo the key, as a careless API might. */
const PATHS: [string, (provider: Provider) => nock.ReplyFnResult | 'network'][] = [
  ['401', (provider) => echo(provider, 401, 'Authorization header must be provided')],
  ['403', (provider) => echo(provider, 403, 'Invalid API token')],
  ['404', (provider) => echo(provider, 404, 'Account does not exist')],
  ['409', (provider) => echo(provider, 409, 'Account already exists')],
  ['422', (provider) => echo(provider, 422, 'Character counts must be no more than 255')],
  [
    '429',
    (provider) => {
      const [status, body] = echo(provider, 429, 'Too many requests');
      return [status, body ?? '', { 'Retry-After': '30' }];
    },
  ],
  ['500', (provider) => echo(provider, 500, 'Unknown error')],
  [
    'an HTML 502',
    () => [
      502,
      `<html><head><title>502 Bad Gateway for ${SECRET}</title></head><body>${SECRET}</body></html>`,
      { 'Content-Type': 'text/html' },
    ],
  ],
  ['a network error', () => 'network'],
];

/** Installs the API for one variant: every route answers `answer`, or drops the connection. */
const serve = (provider: Provider, answer: (request: Sent) => nock.ReplyFnResult | 'network') => {
  const scope = provider === 'dealai' ? dealaiScope() : adminScope();
  const sample: Sent = { method: 'GET', path: '/', query: {}, body: undefined };
  if (answer(sample) === 'network') {
    scope.persist();
    for (const [method, path] of ROUTES[provider]) {
      scope
        .intercept(path, method)
        .query(true)
        .replyWithError(
          Object.assign(new Error(`socket hang up near ${SECRET}`), { code: 'ECONNRESET' }),
        );
    }
    return;
  }
  recordRoutes(scope, ROUTES[provider], [], (request) => {
    const result = answer(request);
    return result === 'network' ? [500, ''] : result;
  });
  if (provider === 'dealai') {
    // Deal.ai's routes refuse a key that cannot be valid (the connection test's and an "already
    // gone" check's second request); their refusal echoes the real key too.
    recordRoutes(dealaiWithInvalidKey(), ROUTES.dealai, [], () => echo(provider, 403, 'Invalid'));
  }
};

type Outcome = { output: unknown; error?: undefined } | { output?: undefined; error: Error };

const attempt = async (promise: Promise<unknown>): Promise<Outcome> => {
  try {
    return { output: await promise };
  } catch {
    return { error: await failure(promise) };
  }
};

/** Asserts that nothing the run left behind holds the key, and that the log capture is not empty. */
const expectNoKey = (outcome: Outcome) => {
  if (outcome.error !== undefined) {
    expect(outcome.error.message).not.toContain(SECRET);
    expect(String(outcome.error)).not.toContain(SECRET);
    expect(outcome.error.stack ?? '').not.toContain(SECRET);
  } else {
    expect(JSON.stringify(outcome.output)).not.toContain(SECRET);
  }
  expect(logLines.length).toBeGreaterThan(0);
  expect(logLines.filter((line) => line.includes(SECRET))).toEqual([]);
};

describe('the API key', () => {
  beforeEach(() => {
    logLines.length = 0;
    nock(LOG_ORIGIN)
      .persist()
      .post('/input')
      .reply((_uri, body) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        logLines.push(...text.split('\n').filter((line) => line !== ''));
        return [200, 'ok'];
      });
  });

  afterEach(() => {
    nock.cleanAll();
  });

  it('is in no sample or other value of the app definition', () => {
    expect(JSON.stringify(App)).not.toContain(SECRET);
  });

  it('the log capture does see what is sent (so the checks below can fail)', async () => {
    dealaiScope().delete('/users').reply(200, '');

    await inApp(perform(App.creates.remove_user), {
      authData: dealaiAuth,
      inputData: { email: EMAIL },
    });

    const http = logLines.filter((line) => line.includes('"log_type":"http"'));
    expect(http.length).toBeGreaterThan(0);
    expect(http.join('\n')).toContain('DELETE');
    expect(http.join('\n')).toContain(EMAIL);
    // The header is there, with the platform's censored stand-in for the key.
    expect(http.join('\n')).toMatch(/Deal-AI-API-Key: :censored:/i);
  });

  it('the checks catch a leak (a step that throws the key fails them)', async () => {
    const leaky = () => {
      throw new Error(`could not use ${SECRET}`);
    };

    const outcome = await attempt(inApp(leaky, { authData: adminAuth }));

    expect(() => {
      expectNoKey(outcome);
    }).toThrow();
  });

  it('an API that echoes the key in its error body is quoted with the key replaced', async () => {
    dealaiScope()
      .post('/users')
      .reply(409, { error: `User exists; the key ${SECRET} is valid` });

    const error = await failure(
      inApp(perform(App.creates.add_user), {
        authData: dealaiAuth,
        inputData: { firstName: 'Jane', email: EMAIL },
      }),
    );

    expect(messageOf(error)).toBe(
      'Deal.ai White Label says the account already exists (HTTP 409): User exists; the key [API key] is valid',
    );
    expectNoKey({ error });
  });

  const cases = VARIANTS.flatMap((variant) => [
    [`${variant.title}: success`, variant, (request: Sent) => variant.success(request)] as const,
    ...PATHS.map(
      ([path, answer]) =>
        [`${variant.title}: ${path}`, variant, () => answer(variant.provider)] as const,
    ),
  ]);

  it.each(cases)('%s', async (title, variant, answer) => {
    serve(variant.provider, answer);
    const auth = variant.provider === 'dealai' ? dealaiAuth : adminAuth;

    const outcome = await attempt(variant.start(auth, variant.input));

    expectNoKey(outcome);
    if (outcome.error !== undefined && !title.endsWith('network error')) {
      // The API's words are quoted, with the key it echoed replaced.
      expect(messageOf(outcome.error)).toContain('[API key]');
    }
  });

  it.each(VARIANTS.map((variant) => [variant.title, variant] as const))(
    '%s: an input error',
    async (_title, variant) => {
      const auth = variant.provider === 'dealai' ? dealaiAuth : adminAuth;

      const outcome = await attempt(
        variant.start({ ...auth, ...variant.badAuth }, variant.badInput),
      );

      expect(outcome.error).toBeDefined();
      expectNoKey(outcome);
    },
  );
});
