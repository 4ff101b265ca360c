import { setTimeout as delay } from 'node:timers/promises';
import { startSandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, DEALAI_AUTH, call } from './helpers';

// The end-to-end tests' "no request was sent" assertions are only as good as this count.
describe('the request count', () => {
  it('counts every request received, whatever the route or outcome', async () => {
    const sandbox = await startSandbox();
    try {
      await call(sandbox.adminBaseUrl, 'GET', '/user', { headers: ADMIN_AUTH });
      expect(sandbox.requestCount()).toBe(1);
      sandbox.resetRequestCount();
      expect(sandbox.requestCount()).toBe(0);
      await call(sandbox.adminBaseUrl, 'GET', '/user', {});
      await call(sandbox.adminBaseUrl, 'GET', '/nowhere', { headers: ADMIN_AUTH });
      await call(sandbox.dealaiBaseUrl, 'DELETE', '/users', { headers: DEALAI_AUTH, body: {} });
      await call(sandbox.dealaiBaseUrl, 'POST', '/users', { headers: DEALAI_AUTH, rawBody: '{' });
      expect(sandbox.requestCount()).toBe(4);
    } finally {
      await sandbox.close();
    }
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After and each provider’s error shape, per provider and key', async () => {
    const sandbox = await startSandbox({ rateLimit: { max: 2, windowMs: 60_000 } });
    try {
      for (let index = 0; index < 2; index += 1) {
        const ok = await call(sandbox.adminBaseUrl, 'GET', '/user', { headers: ADMIN_AUTH });
        expect(ok.status).toBe(200);
      }
      const limited = await call(sandbox.adminBaseUrl, 'GET', '/users', { headers: ADMIN_AUTH });
      expect(limited.status).toBe(429);
      expect(limited.contentType).toMatch(/^text\/plain/);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(59);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.text).toBe(`Rate limit was exceeded; please retry in ${retryAfter} seconds`);

      // Requests with a bad credential are refused before they count.
      const forbidden = await call(sandbox.adminBaseUrl, 'GET', '/user', {
        headers: { Authorization: 'Bearer wrong' },
      });
      expect(forbidden.status).toBe(403);

      // Deal.ai is another tenant with its own budget.
      for (let index = 0; index < 2; index += 1) {
        const ok = await call(sandbox.dealaiBaseUrl, 'PATCH', '/users/role', {
          headers: DEALAI_AUTH,
          body: {},
        });
        expect(ok.status).toBe(422);
      }
      const dealaiLimited = await call(sandbox.dealaiBaseUrl, 'PATCH', '/users/role', {
        headers: DEALAI_AUTH,
        body: {},
      });
      expect(dealaiLimited.status).toBe(429);
      expect(dealaiLimited.contentType).toMatch(/^application\/json/);
      const dealaiRetryAfter = Number(dealaiLimited.headers.get('retry-after'));
      expect(dealaiRetryAfter).toBeGreaterThanOrEqual(59);
      expect(dealaiLimited.json()).toEqual({
        error: `Rate limit exceeded; please retry in ${dealaiRetryAfter} seconds`,
      });
    } finally {
      await sandbox.close();
    }
  });

  it('lets requests through again once the window has passed', async () => {
    const sandbox = await startSandbox({ rateLimit: { max: 1, windowMs: 1_000 } });
    try {
      expect((await call(sandbox.url, 'GET', '/user', { headers: ADMIN_AUTH })).status).toBe(200);
      const limited = await call(sandbox.url, 'GET', '/user', { headers: ADMIN_AUTH });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      await delay(1_100);
      expect((await call(sandbox.url, 'GET', '/user', { headers: ADMIN_AUTH })).status).toBe(200);
    } finally {
      await sandbox.close();
    }
  });
});
