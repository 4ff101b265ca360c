import path from 'node:path';

import type { Sandbox } from '../../tools/sandbox/server';
import { startSandbox } from '../../tools/sandbox/server';
import { RPC_BODY_LIMIT } from '../../tools/sandbox/zapier';
import { ADMIN_AUTH, call, makeTempDir, removeTempDir, startTestSandbox } from './helpers';

interface RpcReply {
  status: number;
  body: unknown;
}

let nextId = 1;

/** One RPC call as zapier-platform-core's runtime sends it (JSON text, no content type). */
async function rpc(
  sandbox: Sandbox,
  token: string | undefined,
  method: string,
  params: unknown[],
): Promise<RpcReply> {
  nextId += 1;
  const response = await fetch(sandbox.zapier.rpcUrl, {
    method: 'POST',
    headers: token === undefined ? {} : { 'X-Token': token },
    body: JSON.stringify({ id: nextId, storeKey: null, method, params }),
  });
  const body: unknown = await response.json();
  return { status: response.status, body };
}

/** The result of a call that must succeed, checking that the answer echoes the request's id. */
async function result(
  sandbox: Sandbox,
  token: string,
  method: string,
  params: unknown[],
): Promise<unknown> {
  const reply = await rpc(sandbox, token, method, params);
  const body: unknown = reply.body;
  if (typeof body !== 'object' || body === null) {
    throw new Error(`not a JSON object: ${JSON.stringify(body)}`);
  }
  expect(reply.status).toBe(200);
  expect(Object.keys(body).sort()).toEqual(['id', 'result']);
  expect(Reflect.get(body, 'id')).toBe(nextId);
  return Reflect.get(body, 'result');
}

const SECOND = 1000;

describe('the cache RPC endpoint (z.cache)', () => {
  let sandbox: Sandbox;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let token: string;

  beforeAll(async () => {
    sandbox = await startTestSandbox({ now: () => clock });
    token = sandbox.zapier.issueToken({ account: 'acct-1', connection: 'conn-1' });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('gets, sets and deletes JSON text, answering {id, result}', async () => {
    expect(await result(sandbox, token, 'zcache_get', ['k1', null])).toBeNull();
    expect(await result(sandbox, token, 'zcache_set', ['k1', '{"a":1}', null, null, null])).toBe(
      true,
    );
    expect(await result(sandbox, token, 'zcache_get', ['k1', null])).toBe('{"a":1}');
    expect(await result(sandbox, token, 'zcache_delete', ['k1', null])).toBe(true);
    expect(await result(sandbox, token, 'zcache_delete', ['k1', null])).toBe(false);
    expect(await result(sandbox, token, 'zcache_get', ['k1', null])).toBeNull();
  });

  it('sets with nx only a key without a live value', async () => {
    expect(await result(sandbox, token, 'zcache_set', ['nx', '"first"', 60, null, true])).toBe(
      true,
    );
    expect(await result(sandbox, token, 'zcache_set', ['nx', '"second"', 60, null, true])).toBe(
      false,
    );
    expect(await result(sandbox, token, 'zcache_get', ['nx', null])).toBe('"first"');
    expect(await result(sandbox, token, 'zcache_set', ['nx', '"third"', 60, null, false])).toBe(
      true,
    );
    expect(await result(sandbox, token, 'zcache_get', ['nx', null])).toBe('"third"');
  });

  it('lets exactly one of 20 concurrent nx sets of one key win', async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        rpc(sandbox, token, 'zcache_set', ['race', String(index), 60, ['user'], true]),
      ),
    );
    const wins = replies.filter(
      (reply) =>
        typeof reply.body === 'object' &&
        reply.body !== null &&
        Reflect.get(reply.body, 'result') === true,
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(wins).toHaveLength(1);
  });

  it('expires a key after its TTL: reads miss it, nx takes it again, delete finds nothing', async () => {
    await result(sandbox, token, 'zcache_set', ['ttl', '"v"', 60, null, true]);
    clock += 59 * SECOND;
    expect(await result(sandbox, token, 'zcache_get', ['ttl', null])).toBe('"v"');
    expect(await result(sandbox, token, 'zcache_set', ['ttl', '"w"', 60, null, true])).toBe(false);
    clock += 1 * SECOND;
    expect(await result(sandbox, token, 'zcache_get', ['ttl', null])).toBeNull();
    expect(await result(sandbox, token, 'zcache_delete', ['ttl', null])).toBe(false);
    expect(await result(sandbox, token, 'zcache_set', ['ttl', '"w"', 60, null, true])).toBe(true);
    expect(await result(sandbox, token, 'zcache_get', ['ttl', null])).toBe('"w"');
  });

  it('keeps a key without a TTL', async () => {
    await result(sandbox, token, 'zcache_set', ['forever', '1', null, null, null]);
    clock += 365 * 24 * 3600 * SECOND;
    expect(await result(sandbox, token, 'zcache_get', ['forever', null])).toBe('1');
  });

  it('partitions each scope by the account and connection the token stands for', async () => {
    const owner = sandbox.zapier.issueToken({ account: 'acct-a', connection: 'conn-a1' });
    const sameBoth = sandbox.zapier.issueToken({ account: 'acct-a', connection: 'conn-a1' });
    const sameAccount = sandbox.zapier.issueToken({ account: 'acct-a', connection: 'conn-a2' });
    // A connection shared within a team: another account using the same connection.
    const sameConnection = sandbox.zapier.issueToken({ account: 'acct-b', connection: 'conn-a1' });
    const stranger = sandbox.zapier.issueToken({ account: 'acct-b', connection: 'conn-b1' });
    const scopes = { none: null, user: ['user'], auth: ['auth'], both: ['user', 'auth'] };
    for (const [name, scope] of Object.entries(scopes)) {
      await result(sandbox, owner, 'zcache_set', [`scoped-${name}`, `"${name}"`, 60, scope, true]);
    }
    const sees = async (reader: string): Promise<string[]> => {
      const seen: string[] = [];
      for (const [name, scope] of Object.entries(scopes)) {
        if ((await result(sandbox, reader, 'zcache_get', [`scoped-${name}`, scope])) !== null) {
          seen.push(name);
        }
      }
      return seen;
    };
    expect(await sees(owner)).toEqual(['none', 'user', 'auth', 'both']);
    expect(await sees(sameBoth)).toEqual(['none', 'user', 'auth', 'both']);
    expect(await sees(sameAccount)).toEqual(['none', 'user']);
    expect(await sees(sameConnection)).toEqual(['none', 'auth']);
    expect(await sees(stranger)).toEqual(['none']);
    // A key set with a scope is another key than the same name without it.
    expect(await result(sandbox, owner, 'zcache_get', ['scoped-both', null])).toBeNull();
    expect(
      await result(sandbox, stranger, 'zcache_delete', ['scoped-both', ['user', 'auth']]),
    ).toBe(false);
    expect(await sees(owner)).toEqual(['none', 'user', 'auth', 'both']);
  });

  it.each([
    ['no token', undefined, 401, 'X-Token header is required'],
    ['a token it never issued', 'zt-forged', 401, 'X-Token is not a token this sandbox issued'],
  ])('refuses a call with %s', async (_case, presented, status, error) => {
    const reply = await rpc(sandbox, presented, 'zcache_get', ['k', null]);
    expect(reply).toEqual({ status, body: { id: nextId, error } });
  });

  // Only what zapier-platform-core's z.cache lets through: it refuses a key, scope, nx or TTL of
  // the wrong type itself (create-cache.js), and always sends JSON.stringify's text.
  it.each([
    ['an unknown method', 'get_cursor', ['k'], /Unknown method "get_cursor"/],
    ['a TTL of 0', 'zcache_set', ['k', '1', 0, null, null], /ttl must be null or a whole number/],
  ])('answers {id, error} with 400 for %s', async (_case, method, params, error) => {
    const reply = await rpc(sandbox, token, method, params);
    expect(reply).toEqual({
      status: 400,
      body: { id: nextId, error: expect.stringMatching(error) as unknown },
    });
  });

  it('counts the writes, their bytes and the largest, and refuses a body over 1 MiB with 413', async () => {
    sandbox.zapier.resetCacheWrites();
    await result(sandbox, token, 'zcache_set', ['small', '"ab"', 60, null, false]);
    await result(sandbox, token, 'zcache_set', [
      'big',
      JSON.stringify('x'.repeat(1000)),
      60,
      null,
      false,
    ]);
    expect(sandbox.zapier.cacheWrites()).toEqual({ count: 2, bytes: 4 + 1002, largest: 1002 });

    const tooLarge = await rpc(sandbox, token, 'zcache_set', [
      'huge',
      JSON.stringify('x'.repeat(RPC_BODY_LIMIT)),
      60,
      null,
      false,
    ]);
    expect(tooLarge.status).toBe(413);
    expect(await result(sandbox, token, 'zcache_get', ['huge', null])).toBeNull();
  });

  it('keeps its calls out of the API request count, and counts them apart', async () => {
    sandbox.resetRequestCount();
    const before = sandbox.zapier.rpcCount();
    await rpc(sandbox, token, 'zcache_get', ['k', null]);
    await call(sandbox.url, 'GET', '/zapier/nowhere');
    await call(sandbox.adminBaseUrl, 'GET', '/user', { headers: ADMIN_AUTH });
    expect(sandbox.requestCount()).toBe(1);
    expect(sandbox.zapier.rpcCount()).toBe(before + 1);
    const missing = await call(sandbox.url, 'GET', '/zapier/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: 'Only /zapier/rpc and /zapier/logs are here' });
  });
});

describe('the log sink', () => {
  it('takes the runtime’s JSON Lines from a token it issued, and nothing without one', async () => {
    const sandbox = await startTestSandbox();
    try {
      const token = sandbox.zapier.issueToken({ account: 'a', connection: 'c' });
      const lines = `${JSON.stringify({ message: 'one' })}\n${JSON.stringify({ message: 'two' })}\n`;
      const post = (headers: Record<string, string>) =>
        fetch(sandbox.zapier.logUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-ndjson', ...headers },
          body: lines,
        });
      const accepted = await post({ 'X-Token': token });
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toEqual({ received: 2 });
      const refused = await post({ 'X-Token': 'zt-forged' });
      expect(refused.status).toBe(401);
      expect(sandbox.zapier.logLines()).toBe(2);
      expect(sandbox.zapier.httpLogLines()).toBe(0);
    } finally {
      await sandbox.close();
    }
  });
});

describe('with a file database', () => {
  it('keeps tokens and cache keys across a restart', async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'sandbox.sqlite');
    try {
      const first = await startSandbox({ dbPath: file });
      const token = first.zapier.issueToken({ account: 'a', connection: 'c' });
      await result(first, token, 'zcache_set', ['kept', '"yes"', 3600, ['user', 'auth'], true]);
      await first.close();
      const second = await startSandbox({ dbPath: file });
      try {
        expect(await result(second, token, 'zcache_get', ['kept', ['user', 'auth']])).toBe('"yes"');
      } finally {
        await second.close();
      }
    } finally {
      removeTempDir(dir);
    }
  });
});
