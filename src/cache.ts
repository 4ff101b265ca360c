/**
 * A small key-value store over Zapier's cache (`z.cache`), for any memory an action or trigger
 * keeps between runs: idempotency keys, what a trigger saw last, and so on.
 *
 * - Every call carries a scope, so what one Zapier account or connection stores is never seen by
 *   another: Zapier keeps a scoped key apart per account (`user`) and per connection (`auth`).
 * - Keys are namespaced: this app's prefix, then the parts the caller names (purpose, provider,
 *   Base URL, ...), so two purposes or two APIs behind one connection never share a key.
 * - Values are JSON; reading gives `unknown`, which the caller checks.
 */
import { createHash } from 'node:crypto';

import type { ZObject } from 'zapier-platform-core';

type CacheScope = 'user' | 'auth';

export type Json = null | boolean | number | string | readonly Json[] | { [key: string]: Json };

/** Where a cache lives: who may see it (scope) and what it is for (namespace). */
export interface CacheSpace {
  /** At least one of `user` (the Zapier account) and `auth` (the connection). */
  scope: readonly [CacheScope, ...CacheScope[]];
  /** The purpose first, then what else tells keys apart (provider, Base URL, action, ...). */
  namespace: readonly [string, ...string[]];
}

export interface Cache {
  /** The stored value, or `undefined` when there is none (never set, deleted or expired). */
  get: (name: string) => Promise<unknown>;
  /** Stores the value for `ttlSeconds`, replacing what was there. */
  set: (name: string, value: Json, ttlSeconds: number) => Promise<void>;
  /**
   * Stores the value only when the key is free, atomically. True only when Zapier answers `true`:
   * any other answer (false, null, a set refused for the app's cache rate limit) means "taken".
   */
  claim: (name: string, value: Json, ttlSeconds: number) => Promise<boolean>;
  delete: (name: string) => Promise<void>;
}

/** Marks this app's keys among all keys of the integration. */
export const KEY_PREFIX = 'wlu1';

/**
 * A part longer than this (once escaped) is replaced by its SHA-256 digest, so that a long Base
 * URL or a long key mapped by the user cannot make a key too long for the platform, while short
 * parts stay readable in logs.
 */
export const MAX_PART_CHARS = 64;

/** Prefixes a digest; encodeURIComponent always escapes "#", so no plain part starts with it. */
const DIGEST_MARK = '#';

const keyPart = (part: string): string => {
  const escaped = encodeURIComponent(part);
  return escaped.length <= MAX_PART_CHARS
    ? escaped
    : `${DIGEST_MARK}${createHash('sha256').update(part, 'utf8').digest('base64url')}`;
};

/** The full key: prefix, namespace and name, each part escaped so ":" only ever separates. */
export const cacheKey = (namespace: readonly string[], name: string): string =>
  [KEY_PREFIX, ...namespace, name]
    .map((part, index) => (index === 0 ? part : keyPart(part)))
    .join(':');

const checkTtl = (ttlSeconds: number): number => {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`A cache TTL is a whole number of seconds, 1 or more; got ${ttlSeconds}`);
  }
  return ttlSeconds;
};

/**
 * The two calls whose typings in zapier-platform-core declare only `(key)`, although the runtime
 * (src/tools/create-cache.js) takes `(key, scope)` and finds a scoped key only with its scope.
 * Reflect.apply passes the argument the typings leave out, without a cast.
 */
const scopedCalls = (z: ZObject) => ({
  get: async (key: string, scope: CacheScope[]): Promise<unknown> => {
    const value: unknown = await Reflect.apply(z.cache.get, z.cache, [key, scope]);
    return value;
  },
  delete: async (key: string, scope: CacheScope[]): Promise<unknown> => {
    const answer: unknown = await Reflect.apply(z.cache.delete, z.cache, [key, scope]);
    return answer;
  },
});

export const openCache = (z: ZObject, space: CacheSpace): Cache => {
  const scope = (): CacheScope[] => [...space.scope];
  const keyOf = (name: string): string => cacheKey(space.namespace, name);
  const calls = scopedCalls(z);
  return {
    get: async (name) => {
      const value = await calls.get(keyOf(name), scope());
      // z.cache.get answers null for a missing key (and for a stored null, which we never store).
      return value ?? undefined;
    },
    set: async (name, value, ttlSeconds) => {
      await z.cache.set(keyOf(name), value, checkTtl(ttlSeconds), scope(), false);
    },
    claim: async (name, value, ttlSeconds) => {
      const answer: unknown = await z.cache.set(
        keyOf(name),
        value,
        checkTtl(ttlSeconds),
        scope(),
        true,
      );
      return answer === true;
    },
    delete: async (name) => {
      await calls.delete(keyOf(name), scope());
    },
  };
};
