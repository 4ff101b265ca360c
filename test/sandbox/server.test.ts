import { setTimeout as delay } from 'node:timers/promises';
import { startSandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, DEALAI_AUTH, call } from './helpers';

describe('startSandbox', () => {
  it('listens on a free port by default and reports its URLs', async () => {
    const sandbox = await startSandbox();
    try {
      expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sandbox.adminBaseUrl).toBe(sandbox.url);
      expect(sandbox.dealaiBaseUrl).toBe(`${sandbox.url}/api/2024-01/whitelabel`);
      const response = await call(sandbox.adminBaseUrl, 'GET', '/user', { headers: ADMIN_AUTH });
      expect(response.status).toBe(200);
    } finally {
      await sandbox.close();
    }
  });

  it('stops listening on close, and close can be called twice', async () => {
    const sandbox = await startSandbox();
    await sandbox.close();
    await sandbox.close();
    await expect(fetch(`${sandbox.url}/user`)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    const first = await startSandbox();
    try {
      const port = Number(new URL(first.url).port);
      await expect(startSandbox({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

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

describe('request bodies', () => {
  it('parses JSON whatever the content type says', async () => {
    const sandbox = await startSandbox();
    try {
      const response = await fetch(`${sandbox.url}/users`, {
        method: 'POST',
        headers: { ...ADMIN_AUTH, 'Content-Type': 'text/plain' },
        body: JSON.stringify({ email: 'plain@example.com' }),
      });
      expect(response.status).toBe(201);
    } finally {
      await sandbox.close();
    }
  });

  it('answers an oversized body with 413 in the provider shape', async () => {
    const sandbox = await startSandbox();
    try {
      const body = JSON.stringify({ email: 'big@example.com', padding: 'x'.repeat(1_100_000) });
      const admin = await call(sandbox.url, 'POST', '/users', {
        headers: ADMIN_AUTH,
        rawBody: body,
      });
      expect(admin.status).toBe(413);
      expect(admin.contentType).toMatch(/^text\/plain/);
      expect(admin.text).toBe('Request body is too large');
      const dealai = await call(sandbox.dealaiBaseUrl, 'POST', '/users', {
        headers: DEALAI_AUTH,
        rawBody: body,
      });
      expect(dealai.status).toBe(413);
      expect(dealai.json()).toEqual({ error: 'Request body is too large' });
    } finally {
      await sandbox.close();
    }
  });
});
