/**
 * Zapier's side of z.cache for unit tests: a nock interceptor on an RPC endpoint that answers
 * zcache_get/set/delete like the sandbox does (set-if-absent, TTL, one space per scope), from a
 * Map the test can read and seed, with faults to inject. Core's in-memory stand-in ignores
 * `nx` and `scope`; this one does not.
 */
import nock from 'nock';

import type { ZapierRun } from './lambda';

export const RPC_ORIGIN = 'https://rpc.zapier.test';
const LOG_ORIGIN = 'https://logs.zapier.test';
export const RUN: ZapierRun = { rpcBase: `${RPC_ORIGIN}/cli`, token: 'zt-unit-token' };

interface RpcCall {
  method: string;
  params: unknown[];
}

export interface FakeCache {
  /** Every call received, in order. */
  calls: RpcCall[];
  /** The live value (JSON, parsed) of `key` under `scope`, or undefined. */
  read: (key: string, scope: readonly string[]) => unknown;
  /** The only live key, whatever its scope (most tests use one), or undefined. */
  only: () => { key: string; scope: string[]; value: unknown } | undefined;
  /** Stores a value as a run would have, with a TTL in seconds. */
  seed: (key: string, scope: readonly string[], value: unknown, ttlSeconds?: number) => void;
  /** Makes every call that `when` picks fail: the RPC answers {id, error}. */
  failWhen: (when: (call: RpcCall) => boolean) => void;
  /** Makes the next nx set store its value yet answer `answer` (a retried RPC call, a limit). */
  claimAnswers: (answer: unknown, store: boolean) => void;
}

interface Stored {
  value: string;
  expiresAt: number | null;
}

/** A field of the runtime's RPC request body (`{id, storeKey, method, params}`, as JSON text). */
export const fieldOf = (body: unknown, field: string): unknown => {
  const request: unknown = typeof body === 'string' ? JSON.parse(body) : body;
  return typeof request === 'object' && request !== null ? Reflect.get(request, field) : undefined;
};

const parse = (text: string): unknown => {
  const value: unknown = JSON.parse(text);
  return value;
};

const spaceOf = (scope: unknown): string[] =>
  Array.isArray(scope) ? scope.filter((item) => typeof item === 'string').sort() : [];

/**
 * With a token the runtime streams its logs to LOGGING_ENDPOINT (Zapier's log server by default):
 * here to nock, for one test. Whether a run logs anything varies, so the interceptor is optional.
 */
export const allowLogStream = (): void => {
  process.env.LOGGING_ENDPOINT = `${LOG_ORIGIN}/input`;
  nock(LOG_ORIGIN).persist().post('/input').optionally().reply(200);
};

/** Starts the fake for one test; `nock.cleanAll()` (the helpers' afterEach) removes it. */
export const fakeCache = (): FakeCache => {
  const store = new Map<string, Stored>();
  const calls: RpcCall[] = [];
  let failing: (call: RpcCall) => boolean = () => false;
  let claimAnswer: { answer: unknown; store: boolean } | undefined;
  const entryKey = (key: string, scope: readonly string[]) =>
    JSON.stringify([[...scope].sort(), key]);
  const live = (key: string): Stored | undefined => {
    const stored = store.get(key);
    return stored !== undefined && (stored.expiresAt === null || stored.expiresAt > Date.now())
      ? stored
      : undefined;
  };

  const answer = (method: string, params: unknown[]): unknown => {
    const [key, second, third, fourth, fifth] = params;
    if (typeof key !== 'string') {
      throw new Error('key must be a string');
    }
    if (method === 'zcache_get') {
      return live(entryKey(key, spaceOf(second)))?.value ?? null;
    }
    if (method === 'zcache_delete') {
      const name = entryKey(key, spaceOf(second));
      const existed = live(name) !== undefined;
      store.delete(name);
      return existed;
    }
    if (method === 'zcache_set' && typeof second === 'string') {
      const name = entryKey(key, spaceOf(fourth));
      const stored = {
        value: second,
        expiresAt: typeof third === 'number' ? Date.now() + third * 1000 : null,
      };
      if (fifth === true) {
        const forced = claimAnswer;
        claimAnswer = undefined;
        const free = live(name) === undefined;
        if (forced !== undefined) {
          if (forced.store && free) {
            store.set(name, stored);
          }
          return forced.answer;
        }
        if (free) {
          store.set(name, stored);
        }
        return free;
      }
      store.set(name, stored);
      return true;
    }
    throw new Error(`unexpected RPC call ${method}`);
  };

  nock(RPC_ORIGIN, { reqheaders: { 'x-token': RUN.token } })
    .persist()
    .post('/cli')
    .reply(200, (_uri, body) => {
      const id = fieldOf(body, 'id');
      const method = String(fieldOf(body, 'method'));
      const rawParams = fieldOf(body, 'params');
      const params: unknown[] = Array.isArray(rawParams) ? rawParams : [];
      calls.push({ method, params });
      if (failing({ method, params })) {
        return { id, error: 'the cache is down' };
      }
      try {
        return { id, result: answer(method, params) };
      } catch (error) {
        return { id, error: error instanceof Error ? error.message : String(error) };
      }
    });

  return {
    calls,
    read: (key, scope) => {
      const stored = live(entryKey(key, scope));
      return stored === undefined ? undefined : parse(stored.value);
    },
    only: () => {
      const keys = [...store.keys()].filter((name) => live(name) !== undefined);
      const name = keys[0];
      const stored = name === undefined ? undefined : live(name);
      if (keys.length !== 1 || name === undefined || stored === undefined) {
        return undefined;
      }
      const parsed = parse(name);
      const pair: unknown[] = Array.isArray(parsed) ? parsed : [];
      return {
        key: String(pair[1]),
        scope: spaceOf(pair[0]),
        value: parse(stored.value),
      };
    },
    seed: (key, scope, value, ttlSeconds) => {
      store.set(entryKey(key, scope), {
        value: JSON.stringify(value),
        expiresAt: ttlSeconds === undefined ? null : Date.now() + ttlSeconds * 1000,
      });
    },
    failWhen: (when) => {
      failing = when;
    },
    claimAnswers: (forced, storeIt) => {
      claimAnswer = { answer: forced, store: storeIt };
    },
  };
};
