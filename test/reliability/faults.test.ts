/**
 * A failing API: refused connections, connections dropped mid-answer, no answer at all, 200s
 * without the documented body, gateway pages, and throttling. Each case ends in the z.errors class
 * that makes Zapier do the right thing (retry, stop, or ask for a reconnect), with a message a Zap
 * owner can act on, and counts the requests that reached the API.
 *
 * Real sockets on 127.0.0.1 where the failure is about sockets (closed port, a body cut short);
 * nock elsewhere. "No answer" runs on Jest's fake clock: the 12 s request timeout elapses in
 * about a tenth of a second.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';

import nock from 'nock';

import App from '../../index';
import { DEFAULT_RETRY_SECONDS, REQUEST_TIMEOUT_MS, STEP_BUDGET_MS } from '../../src/client';
import { newUser } from '../../src/triggers/new-user';
import {
  admin,
  adminAuth,
  callable,
  inApp,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  payloadOf,
  run,
} from '../helpers';

const addUser = App.creates.add_user;
const provision = App.creates.provision_credits;
const changeRole = App.creates.change_role;
const removeUser = App.creates.remove_user;
const findUser = App.searches.find_user;
// The typings give a trigger's operation as polling or hook; this one polls.
const pollNewUser = callable(Reflect.get(newUser.operation, 'perform'));

const EMAIL = 'jane@example.com';
const HALF_GRANTED =
  'so the change may or may not have been applied. Check the account before replaying this step, so that nothing is done twice.';

beforeAll(() => {
  nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host));
});

afterAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  jest.useRealTimers();
  // A delayed nock answer runs on a real timer; drop it so that it cannot outlive the test.
  nock.abortPendingRequests();
});

/** A fake clock for timers only: I/O callbacks, microtasks and `performance` stay real. */
const useFakeClock = () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance'] });
};

/** Lets real I/O (sockets, the local servers) make progress. */
const tick = () =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !condition(); i += 1) {
    await tick();
  }
  expect(condition()).toBe(true);
};

/** A loopback port with nothing listening on it. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });

interface Local {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that counts the requests it receives. */
const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
  let requests = 0;
  const server: Server = createHttpServer((req, res) => {
    requests += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const local: Local = {
    url: `http://127.0.0.1:${String(port)}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  return local;
};

/**
 * A socket error as Node raises it. nock 14 needs an Error instance here: with a plain object the
 * request never settles and node-fetch waits for its timeout.
 */
const systemError = (code: string, message: string): Error =>
  Object.assign(new Error(message), { code });

/** Counts the requests a nock scope receives (replyWithError has no reply function). */
const counted = (scope: nock.Scope): (() => number) => {
  let requests = 0;
  scope.on('request', () => {
    requests += 1;
  });
  return () => requests;
};

describe('connection refused', () => {
  it('Find User on a closed port fails with ApiUnreachable naming the host (retryable)', async () => {
    const port = await closedPort();

    const error = await failure(
      run(
        findUser,
        { ...adminAuth, baseUrl: `http://127.0.0.1:${String(port)}` },
        { email: EMAIL },
      ),
    );

    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toEqual({
      code: 'ApiUnreachable',
      message: `Administration API at 127.0.0.1:${String(port)} refused the connection. Check the connection's Base URL, or try again later.`,
    });
  });

  it('Provision Credits (Add) on a closed port stays retryable: a refused request was never applied', async () => {
    const port = await closedPort();

    const error = await failure(
      run(
        provision,
        { ...adminAuth, baseUrl: `http://localhost:${String(port)}` },
        { email: EMAIL, credits: 5, mode: 'add' },
      ),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(/ refused the connection\. Check the connection's Base URL/);
  });

  it('ECONNREFUSED from Deal.ai: one attempt, ApiUnreachable', async () => {
    const scope = dealai()
      .post('/users')
      .replyWithError(systemError('ECONNREFUSED', 'connect ECONNREFUSED'));
    const requests = counted(scope);

    const error = await failure(run(addUser, dealaiAuth, { firstName: 'Jane', email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Deal.ai White Label at api.marketing.deal.ai refused the connection. Check the connection's Base URL, or try again later.",
    );
  });
});

describe('connection reset mid-response', () => {
  // node-fetch leaves its 12 s body timer running after a premature close; on the fake clock it
  // cannot keep Jest waiting once the test is over.
  beforeEach(useFakeClock);

  /** Answers 200 with headers and half a JSON body, then destroys the socket. */
  const cutShort = (contentLength: boolean) =>
    serve((req, res) => {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        ...(contentLength ? { 'Content-Length': '200' } : {}),
      });
      res.write('{"email":"jane@exa', () => {
        setImmediate(() => req.socket.destroy());
      });
    });

  it('Remove User on Deal.ai: one request, ApiUnreachable "dropped the connection"', async () => {
    const local = await cutShort(false);
    try {
      const error = await failure(
        run(removeUser, { ...dealaiAuth, baseUrl: local.url }, { email: EMAIL }),
      );

      expect(local.requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toMatchObject({ code: 'ApiUnreachable' });
      expect(messageOf(error)).toMatch(
        /^Deal\.ai White Label at 127\.0\.0\.1:\d+ dropped the connection \(ERR_STREAM_PREMATURE_CLOSE\)\. Check the connection's Base URL, or try again later\.$/,
      );
    } finally {
      await local.close();
    }
  });

  it('Provision Credits (Add): the grant was received, so the error says it may have been applied (MaybeApplied)', async () => {
    const local = await cutShort(false);
    try {
      const error = await failure(
        run(
          provision,
          { ...adminAuth, baseUrl: local.url },
          { email: EMAIL, credits: 5, mode: 'add' },
        ),
      );

      expect(local.requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toMatchObject({ code: 'MaybeApplied' });
      expect(messageOf(error)).toMatch(
        /^Administration API at 127\.0\.0\.1:\d+ dropped the connection \(ERR_STREAM_PREMATURE_CLOSE\), so the change may or may not have been applied\./,
      );
    } finally {
      await local.close();
    }
  });

  it('a body cut short under a Content-Length waits out the timeout, then fails the grant as MaybeApplied', async () => {
    const local = await cutShort(true);
    try {
      let settled = false;
      const outcome = failure(
        run(
          provision,
          { ...adminAuth, baseUrl: local.url },
          { email: EMAIL, credits: 5, mode: 'add' },
        ),
      ).finally(() => {
        settled = true;
      });
      await until(() => local.requests() === 1);
      for (let i = 0; i < 20; i += 1) {
        await tick();
      }
      expect(settled).toBe(false);
      await jest.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS);
      const error = await outcome;

      expect(local.requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toMatchObject({ code: 'MaybeApplied' });
      expect(messageOf(error)).toMatch(
        /^Administration API at 127\.0\.0\.1:\d+ did not answer within 12 seconds, so the change may or may not have been applied\./,
      );
    } finally {
      await local.close();
    }
  });

  it('New User: a list cut short halfway fails the poll, ApiUnreachable, and stores nothing', async () => {
    const local = await serve((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"email":"jane@example.com","credits":5},{"email":"sam@exa', () => {
        setImmediate(() => req.socket.destroy());
      });
    });
    try {
      const error = await failure(
        inApp(pollNewUser, {
          authData: { ...adminAuth, baseUrl: local.url },
          inputData: {},
          meta: { isPopulatingDedupe: true },
        }),
      );

      expect(local.requests()).toBe(1);
      expect(payloadOf(error)).toMatchObject({ code: 'ApiUnreachable' });
      expect(messageOf(error)).toMatch(
        /^Administration API at 127\.0\.0\.1:\d+ dropped the connection \(ERR_STREAM_PREMATURE_CLOSE\)\. Check the connection's Base URL, or try again later\.$/,
      );
    } finally {
      await local.close();
    }
  });

  it('New User: a list that stops arriving ends the poll within the step budget', async () => {
    const local = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"email":"jane@example.com","credits":5},');
    });
    try {
      const outcome = failure(
        inApp(pollNewUser, {
          authData: { ...adminAuth, baseUrl: local.url },
          inputData: {},
          meta: { isPopulatingDedupe: true },
        }),
      );
      await until(() => local.requests() === 1);
      await jest.advanceTimersByTimeAsync(STEP_BUDGET_MS);
      const error = await outcome;

      expect(messageOf(error)).toMatch(
        /^Administration API at 127\.0\.0\.1:\d+ did not finish its answer within 25 seconds\. Check the connection's Base URL, or try again later\.$/,
      );
    } finally {
      await local.close();
    }
  });

  it('ECONNRESET on a lookup: one attempt, ApiUnreachable', async () => {
    const scope = admin()
      .get('/users')
      .query(true)
      .replyWithError(systemError('ECONNRESET', 'socket hang up'));
    const requests = counted(scope);

    const error = await failure(run(findUser, adminAuth, { email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Administration API at api.agentfirst.dev dropped the connection (ECONNRESET). Check the connection's Base URL, or try again later.",
    );
  });
});

describe('no answer within the timeout', () => {
  /** Starts the step, lets the request reach nock, then moves the fake clock past the timeout. */
  const timedOut = async (start: () => Promise<unknown>, requests: () => number) => {
    useFakeClock();
    const began = performance.now();
    const outcome = failure(start());
    await until(() => requests() === 1);
    await jest.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS + 1_000);
    const error = await outcome;
    // Twelve seconds on the fake clock, a fraction of a second on the real one.
    expect(performance.now() - began).toBeLessThan(5_000);
    return error;
  };

  const silent = (scope: nock.Interceptor, answer: nock.ReplyFnResult) => {
    let requests = 0;
    scope.delay(REQUEST_TIMEOUT_MS + 60_000).reply(() => {
      requests += 1;
      return answer;
    });
    return () => requests;
  };

  it('Find User: one request, ApiUnreachable "did not answer within 12 seconds"', async () => {
    const requests = silent(admin().get('/users').query(true), [200, []]);

    const error = await timedOut(() => run(findUser, adminAuth, { email: EMAIL }), requests);

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Administration API at api.agentfirst.dev did not answer within 12 seconds. Check the connection's Base URL, or try again later.",
    );
  });

  it('Change Role on Deal.ai (safe to repeat): one request, ApiUnreachable', async () => {
    const requests = silent(dealai().patch('/users/role'), [200, '']);

    const error = await timedOut(
      () => run(changeRole, dealaiAuth, { email: EMAIL, role: 'Premium Plan' }),
      requests,
    );

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toMatch(
      /^Deal\.ai White Label at api\.marketing\.deal\.ai did not answer within 12 seconds\./,
    );
  });

  it('Provision Credits (Add): one grant request, then a MaybeApplied error, not a retry', async () => {
    const requests = silent(admin().patch('/users'), [200, { email: EMAIL, credits: 5 }]);

    const error = await timedOut(
      () => run(provision, adminAuth, { email: EMAIL, credits: 5, mode: 'add' }),
      requests,
    );

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toMatchObject({ code: 'MaybeApplied' });
    expect(messageOf(error)).toBe(
      `Administration API at api.agentfirst.dev did not answer within 12 seconds, ${HALF_GRANTED}`,
    );
  });
});

describe('a 200 without the documented body', () => {
  const answered = (scope: nock.Interceptor, body: string, type = 'text/plain'): (() => number) => {
    let requests = 0;
    scope.reply(() => {
      requests += 1;
      return [200, body, { 'Content-Type': type }];
    });
    return () => requests;
  };
  const unexpected = (what: string) =>
    `The Administration API answered without ${what}, which its documentation promises. Check the connection's Base URL.`;

  it.each([
    ['an empty body', '', 'text/plain'],
    ['"OK" as text', 'OK', 'text/plain'],
    ['broken JSON', '{"email":', 'application/json'],
  ])('Find User, %s: one request, AppError "answered without …"', async (_title, body, type) => {
    const requests = answered(admin().get('/users').query(true), body, type);

    const error = await failure(run(findUser, adminAuth, { email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toEqual({
      code: 'UnexpectedResponse',
      message: unexpected('a list of accounts (email and credits)'),
    });
  });

  it.each([
    ['Find User on the Administration API', findUser, adminAuth, admin, 'get'],
    ['Add User on Deal.ai', addUser, dealaiAuth, dealai, 'post'],
  ] as const)(
    '%s, a web page with 200: one request, AppError naming the Base URL',
    async (_title, action, auth, scope, method) => {
      const requests = answered(
        scope().intercept(/\/users/, method.toUpperCase()),
        '<!doctype html><title>Welcome</title>',
        'text/html; charset=utf-8',
      );

      const error = await failure(run(action, auth, { email: EMAIL, firstName: 'Jane' }));

      expect(requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toEqual({
        code: 'UnexpectedResponse',
        status: 200,
        message: `${auth === adminAuth ? 'Administration API' : 'Deal.ai White Label'} answered with a web page instead of the API (HTTP 200) at ${auth === adminAuth ? 'https://api.agentfirst.dev' : 'https://api.marketing.deal.ai/api/2024-01/whitelabel'}. Check the connection's Base URL.`,
      });
    },
  );

  it.each([
    ['Add User', addUser, 'post', { email: EMAIL }, 'the account (email and credits)'],
    ['Remove User', removeUser, 'delete', { email: EMAIL }, 'the account (email and credits)'],
    [
      'Provision Credits (Add)',
      provision,
      'patch',
      { email: EMAIL, credits: 5, mode: 'add' },
      'the account (email and credits)',
    ],
  ] as const)(
    '%s on the Administration API, an empty 200: one request, AppError',
    async (_title, action, method, input, what) => {
      const requests = answered(admin().intercept('/users', method.toUpperCase()), '');

      const error = await failure(run(action, adminAuth, input));

      expect(requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(messageOf(error)).toBe(unexpected(what));
    },
  );

  it.each([
    ['an empty body', '', 'text/plain'],
    ['"OK" as text', 'OK', 'text/plain'],
    ['broken JSON', '{"message":', 'application/json'],
  ])(
    'Deal.ai (which documents no 200 body), %s: tolerated, the output is what was sent',
    async (_title, body, type) => {
      const adds = answered(dealai().post('/users'), body, type);
      const roles = answered(dealai().patch('/users/role'), body, type);
      const removes = answered(dealai().delete('/users'), body, type);

      const added = await run(addUser, dealaiAuth, {
        firstName: 'Jane',
        email: EMAIL,
        role: 'Basic Plan',
      });
      const changed = await run(changeRole, dealaiAuth, { email: EMAIL, role: 'Premium Plan' });
      const removed = await run(removeUser, dealaiAuth, { email: EMAIL });

      expect([adds(), roles(), removes()]).toEqual([1, 1, 1]);
      expect(added).toEqual({
        provider: 'dealai',
        email: EMAIL,
        firstName: 'Jane',
        lastName: null,
        role: 'Basic Plan',
        inviteSent: false,
        replayed: false,
        replayNote: null,
        stale: false,
        staleNote: null,
      });
      expect(changed).toEqual({
        provider: 'dealai',
        email: EMAIL,
        role: 'Premium Plan',
        roleCleared: false,
        stale: false,
        staleNote: null,
      });
      expect(removed).toEqual({
        provider: 'dealai',
        email: EMAIL,
        removed: true,
        stale: false,
        staleNote: null,
      });
    },
  );
});

describe('status pages and throttling', () => {
  const replies = (
    scope: nock.Interceptor,
    status: number,
    body: string,
    headers: Record<string, string>,
  ): (() => number) => {
    let requests = 0;
    scope.reply(() => {
      requests += 1;
      return [status, body, headers];
    });
    return () => requests;
  };
  const GATEWAY_PAGE =
    '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';

  it.each([
    ['Deal.ai', dealaiAuth, 'Deal.ai White Label'],
    ['the Administration API', adminAuth, 'Administration API'],
  ])(
    'an HTML 502 from %s: one request, AppError quoting the page title',
    async (_title, auth, label) => {
      const scope = auth === dealaiAuth ? dealai().delete('/users') : admin().delete('/users');
      const requests = replies(scope, 502, GATEWAY_PAGE, { 'Content-Type': 'text/html' });

      const error = await failure(run(removeUser, auth, { email: EMAIL }));

      expect(requests()).toBe(1);
      expect(error.name).toBe('AppError');
      expect(payloadOf(error)).toEqual({
        code: 'ApiServerError',
        status: 502,
        message: `${label} failed on its side (HTTP 502): an HTML page titled "502 Bad Gateway" instead of an API answer. Try again later.`,
      });
    },
  );

  it('a 503 with Retry-After in seconds: one request, ThrottledError with that delay', async () => {
    const requests = replies(admin().get('/users').query(true), 503, 'Service Unavailable', {
      'Content-Type': 'text/plain',
      'Retry-After': '120',
    });

    const error = await failure(run(findUser, adminAuth, { email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('ThrottledError');
    expect(payloadOf(error)).toEqual({
      delay: 120,
      message:
        'Administration API is unavailable (HTTP 503): Service Unavailable. Zapier will retry in 120 seconds.',
    });
  });

  it('a 503 with Retry-After as an HTTP date: ThrottledError with the seconds until then', async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const requests = replies(dealai().post('/users'), 503, '', { 'Retry-After': at });

    const error = await failure(run(addUser, dealaiAuth, { firstName: 'Jane', email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('ThrottledError');
    const { delay } = payloadOf(error);
    expect(typeof delay === 'number' && delay >= 85 && delay <= 91).toBe(true);
  });

  it('a 503 without Retry-After: one request, AppError (Zapier may retry the run)', async () => {
    const requests = replies(admin().get('/users').query(true), 503, 'Service Unavailable', {
      'Content-Type': 'text/plain',
    });

    const error = await failure(run(findUser, adminAuth, { email: EMAIL }));

    expect(requests()).toBe(1);
    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toEqual({
      code: 'ApiServerError',
      status: 503,
      message:
        'Administration API failed on its side (HTTP 503): Service Unavailable. Try again later.',
    });
  });

  it.each([
    ['with Retry-After: 30', { 'Retry-After': '30' }, 30],
    ['without Retry-After', {}, DEFAULT_RETRY_SECONDS],
    ['with an unreadable Retry-After', { 'Retry-After': 'soon' }, DEFAULT_RETRY_SECONDS],
  ])('a 429 %s: one request, ThrottledError with that delay', async (_title, headers, delay) => {
    const requests = replies(admin().patch('/users'), 429, 'Too Many Requests', {
      'Content-Type': 'text/plain',
      ...headers,
    });

    const error = await failure(
      run(provision, adminAuth, { email: EMAIL, credits: 5, mode: 'add' }),
    );

    expect(requests()).toBe(1);
    expect(error.name).toBe('ThrottledError');
    expect(payloadOf(error)).toEqual({
      delay,
      message: `Administration API is limiting the request rate (HTTP 429): Too Many Requests. Zapier will retry in ${String(delay)} seconds.`,
    });
  });

  it('a 429 from Deal.ai with a JSON error: ThrottledError in its words', async () => {
    const requests = replies(
      dealai().patch('/users/role'),
      429,
      JSON.stringify({ error: 'Rate limit exceeded' }),
      { 'Content-Type': 'application/json', 'Retry-After': '7' },
    );

    const error = await failure(
      run(changeRole, dealaiAuth, { email: EMAIL, role: 'Premium Plan' }),
    );

    expect(requests()).toBe(1);
    expect(payloadOf(error)).toEqual({
      delay: 7,
      message:
        'Deal.ai White Label is limiting the request rate (HTTP 429): Rate limit exceeded. Zapier will retry in 7 seconds.',
    });
  });

  it('the connection test on a closed port says so, without a request', async () => {
    const port = await closedPort();

    const error = await failure(
      inApp(callable(App.authentication?.test), {
        authData: { ...dealaiAuth, baseUrl: `http://127.0.0.1:${String(port)}/api` },
      }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `Deal.ai White Label at 127.0.0.1:${String(port)} refused the connection. Check the connection's Base URL, or try again later.`,
    );
  });
});
