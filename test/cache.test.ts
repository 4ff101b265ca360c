import nock from 'nock';

import { KEY_PREFIX, MAX_PART_CHARS, cacheKey, openCache } from '../src/cache';
import type { CacheSpace } from '../src/cache';
import { failure } from './helpers';
import { withZ } from './support/lambda';
import { RPC_ORIGIN, RUN, allowLogStream, fieldOf } from './support/zcache';

const SPACE: CacheSpace = { scope: ['user', 'auth'], namespace: ['purpose', 'admin'] };

interface RpcCall {
  method: unknown;
  params: unknown;
}

/** Answers the next RPC call with `result` and records what it asked in `calls`. */
const rpcAnswers = (result: unknown, calls: RpcCall[] = []): RpcCall[] => {
  nock(RPC_ORIGIN, { reqheaders: { 'x-token': RUN.token } })
    .post('/cli')
    .reply(200, (_uri, body) => {
      calls.push({ method: fieldOf(body, 'method'), params: fieldOf(body, 'params') });
      return { id: fieldOf(body, 'id'), result };
    });
  return calls;
};

const KEY = cacheKey(SPACE.namespace, 'name');

describe('cacheKey', () => {
  it('prefixes the app, then the namespace and the name, escaped so ":" only separates', () => {
    expect(cacheKey(['idempotency', 'admin', 'https://api.agentfirst.dev'], 'pi_1:x')).toBe(
      `${KEY_PREFIX}:idempotency:admin:https%3A%2F%2Fapi.agentfirst.dev:pi_1%3Ax`,
    );
  });

  it('replaces a long part by its digest, which no plain part can equal', () => {
    const long = 'k'.repeat(MAX_PART_CHARS + 1);
    const key = cacheKey(['p'], long);
    expect(key).toMatch(new RegExp(`^${KEY_PREFIX}:p:#[A-Za-z0-9_-]{43}$`));
    expect(cacheKey(['p'], `${long}x`)).not.toBe(key);
    const digest = key.split(':')[2] ?? '';
    expect(cacheKey(['p'], digest)).not.toBe(key);
    expect(cacheKey(['p'], 'k'.repeat(MAX_PART_CHARS))).toBe(
      `${KEY_PREFIX}:p:${'k'.repeat(MAX_PART_CHARS)}`,
    );
  });

  it('keeps namespaces apart: the same name under two namespaces is two keys', () => {
    expect(cacheKey(['a', 'b'], 'c')).not.toBe(cacheKey(['a'], 'b:c'));
    expect(cacheKey(['a', 'b'], 'c')).not.toBe(cacheKey(['a:b'], 'c'));
  });
});

describe('openCache, over the runtime’s RPC call', () => {
  beforeEach(allowLogStream);

  it('reads with the scope, which the typings omit, and gives back the JSON value', async () => {
    const calls = rpcAnswers(JSON.stringify({ state: 'done', n: [1, 2] }));
    const value = await withZ(RUN, (z) => openCache(z, SPACE).get('name'));
    expect(value).toEqual({ state: 'done', n: [1, 2] });
    expect(calls).toEqual([{ method: 'zcache_get', params: [KEY, ['user', 'auth']] }]);
  });

  it('reads a missing key as undefined', async () => {
    rpcAnswers(null);
    const value = await withZ(RUN, async (z) => ({
      missing: (await openCache(z, SPACE).get('name')) === undefined,
    }));
    expect(value).toEqual({ missing: true });
  });

  it('sets JSON with its TTL and scope, replacing what is there (nx false)', async () => {
    const calls = rpcAnswers(true);
    await withZ(RUN, async (z) => {
      await openCache(z, SPACE).set('name', { a: 'b' }, 60);
      return {};
    });
    expect(calls).toEqual([
      { method: 'zcache_set', params: [KEY, '{"a":"b"}', 60, ['user', 'auth'], false] },
    ]);
  });

  it('claims with nx, and counts only an answer of true as claimed', async () => {
    const answers: unknown[] = [true, false, null, 'OK', 1];
    const calls: RpcCall[] = [];
    for (const answer of answers) {
      rpcAnswers(answer, calls);
    }
    const claimed = await withZ(RUN, async (z) => {
      const cache = openCache(z, { scope: ['auth'], namespace: ['purpose'] });
      const results: boolean[] = [];
      while (results.length < answers.length) {
        results.push(await cache.claim('name', 'mine', 5));
      }
      return { results };
    });
    expect(claimed).toEqual({ results: [true, false, false, false, false] });
    expect(calls).toHaveLength(answers.length);
    expect(calls[0]).toEqual({
      method: 'zcache_set',
      params: [`${KEY_PREFIX}:purpose:name`, '"mine"', 5, ['auth'], true],
    });
  });

  it('deletes with the scope', async () => {
    const calls = rpcAnswers(true);
    await withZ(RUN, async (z) => {
      await openCache(z, SPACE).delete('name');
      return {};
    });
    expect(calls).toEqual([{ method: 'zcache_delete', params: [KEY, ['user', 'auth']] }]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a TTL of %p before calling Zapier', async (ttl) => {
    const error = await failure(withZ(RUN, (z) => openCache(z, SPACE).set('name', 1, ttl)));
    expect(error.message).toMatch(/TTL is a whole number of seconds/);
  });

  it('lets an RPC failure through', async () => {
    nock(RPC_ORIGIN)
      .post('/cli')
      .reply(200, (_uri, body) => ({ id: fieldOf(body, 'id'), error: 'cache is down' }));
    const error = await failure(withZ(RUN, (z) => openCache(z, SPACE).claim('name', 1, 5)));
    expect(error.message).toMatch(/RPC request failed after 1 attempts: cache is down/);
  });
});
