import { createServer } from 'node:net';

import nock from 'nock';

import App from '../index';
import {
  DEFAULT_RETRY_SECONDS,
  REQUEST_TIMEOUT_MS,
  STEP_BUDGET_MS,
  retryAfterSeconds,
} from '../src/client';
import {
  ADMIN_KEY,
  ADMIN_ORIGIN,
  DEALAI_KEY,
  admin,
  adminAuth,
  inApp,
  callable,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  run,
} from './helpers';

const removeUser = App.creates.remove_user;

/** A loopback port with nothing listening on it. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });

afterEach(() => {
  nock.disableNetConnect();
});
const remove = (authData: Record<string, string> = adminAuth) =>
  failure(run(removeUser, authData, { email: 'a@b.co' }));

describe('every status the admin API documents', () => {
  it.each([
    [
      400,
      'JSON was malformed',
      'AppError',
      'Administration API rejected the request as malformed (HTTP 400): JSON was malformed',
    ],
    [
      401,
      'Authorization header must be provided',
      'ExpiredAuthError',
      'Administration API rejected the API key (HTTP 401): Authorization header must be provided. Edit the connection in Zapier (My Apps) and reconnect.',
    ],
    [
      403,
      'Valid API token must be provided',
      'ExpiredAuthError',
      'Administration API rejected the API key (HTTP 403): Valid API token must be provided. Edit the connection in Zapier (My Apps) and reconnect.',
    ],
    [
      404,
      'Email is nonexistent',
      'AppError',
      'Administration API found no such account (HTTP 404): Email is nonexistent',
    ],
    [
      409,
      'Email already exists',
      'AppError',
      'Administration API says the account already exists (HTTP 409): Email already exists',
    ],
    [
      422,
      'Character counts must be no more than 255',
      'AppError',
      'Administration API rejected a value (HTTP 422): Character counts must be no more than 255',
    ],
    [
      500,
      'Unknown error occurred',
      'AppError',
      'Administration API failed on its side (HTTP 500): Unknown error occurred. Try again later.',
    ],
    [
      418,
      "I'm a teapot",
      'AppError',
      "Administration API refused the request (HTTP 418): I'm a teapot",
    ],
  ])('maps %i to the right error in the API words', async (status, body, name, message) => {
    admin().delete('/users').reply(status, body, { 'Content-Type': 'text/plain' });

    const error = await remove();

    expect(error.name).toBe(name);
    expect(messageOf(error)).toBe(message);
  });

  it('turns a 429 into a throttle that waits as long as Retry-After asks', async () => {
    admin()
      .delete('/users')
      .reply(429, 'Rate limit was exceeded; please retry in 180 seconds', { 'Retry-After': '180' });

    const error = await remove();

    expect(error.name).toBe('ThrottledError');
    expect(JSON.parse(error.message)).toEqual({
      message:
        'Administration API is limiting the request rate (HTTP 429): Rate limit was exceeded; please retry in 180 seconds. Zapier will retry in 180 seconds.',
      delay: 180,
    });
  });

  it('throttles a 429 without Retry-After for the default delay', async () => {
    admin().delete('/users').reply(429, 'slow down');

    const error = await remove();

    expect(error.name).toBe('ThrottledError');
    expect(JSON.parse(error.message)).toMatchObject({ delay: DEFAULT_RETRY_SECONDS });
  });

  it('throttles a 503 that says when to come back, and errors on one that does not', async () => {
    admin()
      .delete('/users')
      .reply(503, 'Service is autoscaling; please retry in 60 seconds', { 'Retry-After': '60' });
    admin().delete('/users').reply(503, 'down');

    const throttled = await remove();
    const failed = await remove();

    expect(throttled.name).toBe('ThrottledError');
    expect(JSON.parse(throttled.message)).toMatchObject({ delay: 60 });
    expect(failed.name).toBe('AppError');
    expect(messageOf(failed)).toBe(
      'Administration API failed on its side (HTTP 503): down. Try again later.',
    );
  });
});

describe('error bodies', () => {
  it('reads the message from a JSON body', async () => {
    dealai()
      .delete('/users')
      .reply(422, { errors: [{ message: 'email is invalid' }, { message: 'role unknown' }] });

    expect(messageOf(await remove(dealaiAuth))).toBe(
      'Deal.ai White Label rejected a value (HTTP 422): email is invalid; role unknown',
    );
  });

  it('names an HTML page by its title instead of pasting it', async () => {
    admin()
      .delete('/users')
      .reply(
        502,
        '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
        {
          'Content-Type': 'text/html',
        },
      );

    expect(messageOf(await remove())).toBe(
      'Administration API failed on its side (HTTP 502): an HTML page titled "502 Bad Gateway" instead of an API answer. Try again later.',
    );
  });

  it('says so when the body is empty', async () => {
    admin().delete('/users').reply(500, '');

    expect(messageOf(await remove())).toBe(
      'Administration API failed on its side (HTTP 500): no details given. Try again later.',
    );
  });

  it('cuts a long body and removes the API key the API echoed', async () => {
    admin()
      .delete('/users')
      .reply(500, `token ${ADMIN_KEY} is broken ${'x'.repeat(1000)}`);

    const message = messageOf(await remove());

    expect(message).toMatch(
      /^Administration API failed on its side \(HTTP 500\): token \[API key\] is broken x+… Try again later\.$/,
    );
    expect(message).not.toContain(ADMIN_KEY);
    expect(message.length).toBeLessThan(400);
  });

  it('falls back to the raw text of JSON that holds no message', async () => {
    dealai().delete('/users').reply(400, { code: 17 });

    expect(messageOf(await remove(dealaiAuth))).toBe(
      'Deal.ai White Label rejected the request as malformed (HTTP 400): {"code":17}',
    );
  });
});

describe('requests', () => {
  it('sends the key only in the provider header, JSON bodies, and a timeout inside Zapier limits', async () => {
    expect(STEP_BUDGET_MS).toBeLessThan(30_000);
    expect(REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(STEP_BUDGET_MS);
    nock(ADMIN_ORIGIN, {
      reqheaders: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      badheaders: ['deal-ai-api-key'],
    })
      .delete('/users', (body: unknown) => JSON.stringify(body) === '{"email":"a@b.co"}')
      .reply(200, { email: 'a@b.co', credits: 0 });

    await expect(run(removeUser, adminAuth, { email: 'a@b.co' })).resolves.toMatchObject({
      removed: true,
    });
  });

  it('reports a refused connection with the host, never the key', async () => {
    const port = await closedPort();
    nock.enableNetConnect('127.0.0.1');

    const error = await remove({ ...dealaiAuth, baseUrl: `http://127.0.0.1:${port}` });

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      `Deal.ai White Label at 127.0.0.1:${port} refused the connection. Check the connection's Base URL, or try again later.`,
    );
    expect(error.message).not.toContain(DEALAI_KEY);
  });

  it('reports a host that does not exist', async () => {
    nock.enableNetConnect('does-not-exist.invalid');

    const error = await remove({ ...adminAuth, baseUrl: 'https://does-not-exist.invalid' });

    expect(messageOf(error)).toBe(
      "Administration API at does-not-exist.invalid could not be found (no such host). Check the connection's Base URL, or try again later.",
    );
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds, an HTTP date, and nothing', () => {
    const now = Date.parse('2026-11-29T10:00:00Z');

    expect(retryAfterSeconds('120', now)).toBe(120);
    expect(retryAfterSeconds('Sun, 29 Nov 2026 10:01:30 GMT', now)).toBe(90);
    expect(retryAfterSeconds('Sun, 29 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterSeconds('soon', now)).toBeNull();
    expect(retryAfterSeconds(' ', now)).toBeNull();
    expect(retryAfterSeconds(undefined, now)).toBeNull();
  });
});

describe('the step budget', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('sends no request that could not finish inside the step budget', async () => {
    // Slow answers without waiting: each answer moves the clock the action reads.
    const realNow = Date.now.bind(Date);
    let elapsed = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + elapsed);
    const slowly = (ms: number, status: number, body: unknown) => (): [number, unknown] => {
      elapsed += ms;
      return [status, body];
    };
    const email = 'jane@example.com';
    // A top-up racing another Zap, against an API that takes 11 s per answer.
    admin()
      .get('/users')
      .query({ email })
      .reply(slowly(11_000, 200, []));
    admin()
      .post('/users')
      .reply(slowly(11_000, 409, 'Email already exists'));
    admin()
      .get('/users')
      .query({ email })
      .reply(slowly(2_500, 200, [{ email, credits: 1 }]));

    const error = await failure(
      run(App.creates.provision_credits, adminAuth, { email, credits: 10, mode: 'atLeast' }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Administration API answered too slowly for this step to finish within Zapier's time limit. Try again later.",
    );
  });
});

describe('web pages in place of the API', () => {
  it('fails the connection test when a wrong Base URL answers the key check with a 404 page', async () => {
    dealai()
      .patch('/users/role', {})
      .reply(404, '<html><title>Not Found</title></html>', { 'Content-Type': 'text/html' });

    const error = await failure(
      inApp(callable(App.authentication?.test), { authData: dealaiAuth }),
    );

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      "Deal.ai White Label answered with a web page instead of the API (HTTP 404) at https://api.marketing.deal.ai/api/2024-01/whitelabel. Check the connection's Base URL.",
    );
  });

  it('never reports a user as already gone because a web page said 404', async () => {
    admin().delete('/users').reply(404, '<!doctype html><title>404</title>', {
      'Content-Type': 'text/html; charset=utf-8',
    });

    const error = await failure(
      run(removeUser, adminAuth, { email: 'a@b.co', ignoreMissing: true }),
    );

    expect(messageOf(error)).toBe(
      "Administration API answered with a web page instead of the API (HTTP 404) at https://api.agentfirst.dev. Check the connection's Base URL.",
    );
  });
});
