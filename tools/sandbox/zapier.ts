/**
 * The Zapier side of the sandbox: what zapier-platform-core's runtime reaches besides the APIs.
 *
 * - `POST /zapier/rpc` is the endpoint a Lambda event names as `rpc_base`. The runtime posts
 *   `{id, storeKey, method, params}` with the event's token in `X-Token` and reads back
 *   `{id, result}` or `{id, error}` (src/tools/create-rpc-client.js). This sandbox answers the
 *   methods behind `z.cache` (src/tools/create-cache.js), stored in SQLite:
 *   `zcache_get(key, scope)`, `zcache_set(key, jsonValue, ttl, scope, nx)` and
 *   `zcache_delete(key, scope)`. `ttl` is in seconds; `nx` sets only a key without a live value,
 *   atomically; an expired key is gone.
 * - `POST /zapier/logs` swallows the log stream the runtime sends whenever the event carries a
 *   token (point LOGGING_ENDPOINT at it), so that a run with a token never reaches for Zapier's
 *   log server.
 *
 * A token stands for one Zapier account using one connection ({@link ZapierSide.issueToken}); a
 * fresh token for the same pair sees the same cache, as each invocation on Zapier gets its own
 * token. The scope of a cache call decides who shares a key:
 *
 * | scope              | the key is shared by                                     |
 * | ------------------ | -------------------------------------------------------- |
 * | none (`null`, `[]`)| every account and connection of the integration          |
 * | `['user']`         | one Zapier account, whatever connection it uses          |
 * | `['auth']`         | one connection (connection IDs are unique, as on Zapier) |
 * | `['user', 'auth']` | one account using one connection                         |
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { SandboxStore, ZapierIdentity } from './db';
import { isRecord } from '../project';

const ZAPIER_PREFIX = '/zapier';
export const RPC_PATH = `${ZAPIER_PREFIX}/rpc`;
export const LOG_PATH = `${ZAPIER_PREFIX}/logs`;

export interface ZapierSide {
  /** What a Lambda event carries as `rpc_base`. */
  rpcUrl: string;
  /** What LOGGING_ENDPOINT should be while the app runs with a token. */
  logUrl: string;
  /** A new token for one invocation of `identity`'s Zap (the Lambda event's `token`). */
  issueToken: (identity: ZapierIdentity) => string;
  /** RPC calls received since start. */
  rpcCount: () => number;
  /** Log lines received since start. */
  logLines: () => number;
  /** Of those, the lines about an HTTP request (`log_type: "http"`). */
  httpLogLines: () => number;
  /** The z.cache writes received since start (or the last reset): how many, bytes, the largest. */
  cacheWrites: () => CacheWrites;
  resetCacheWrites: () => void;
}

interface CacheWrites {
  count: number;
  /** The JSON text of the values, in bytes. */
  bytes: number;
  largest: number;
}

/**
 * What one RPC call may carry. Zapier does not publish its limit; 1 MiB (Fastify's default,
 * stated here so that it stays) makes a value too large fail here as it would there (a 413,
 * which the runtime reports as "The request is too large to be processed").
 */
export const RPC_BODY_LIMIT = 1024 * 1024;
/** The log server's limit on one streamed request (zapier-platform-core's create-logger.js). */
const LOG_BODY_LIMIT = 16 * 1024 * 1024;

type CacheScope = 'user' | 'auth';

/** A refusal, answered as `{id, error}` with its status. */
class RpcError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export const isZapierPath = (url: string): boolean =>
  url === ZAPIER_PREFIX || url.startsWith(`${ZAPIER_PREFIX}/`);

const identify = (store: SandboxStore, request: FastifyRequest): ZapierIdentity => {
  const header = request.headers['x-token'];
  const token = Array.isArray(header) ? header[0] : header;
  if (token === undefined || token === '') {
    throw new RpcError(401, 'X-Token header is required');
  }
  const identity = store.zapierIdentity(hashToken(token));
  if (identity === undefined) {
    throw new RpcError(401, 'X-Token is not a token this sandbox issued');
  }
  return identity;
};

const parseScope = (value: unknown): CacheScope[] => {
  if (value === undefined || value === null) {
    return [];
  }
  if (Array.isArray(value) && value.every((item) => item === 'user' || item === 'auth')) {
    return value.filter((item): item is CacheScope => item === 'user' || item === 'auth');
  }
  throw new RpcError(400, 'scope must be null or an array of "user" and "auth"');
};

/** The partition a scoped key lives in: see the table at the top of this file. */
const partitionOf = (identity: ZapierIdentity, scope: readonly CacheScope[]): string => {
  const parts = ['app'];
  if (scope.includes('user')) {
    parts.push(`user=${encodeURIComponent(identity.account)}`);
  }
  if (scope.includes('auth')) {
    parts.push(`auth=${encodeURIComponent(identity.connection)}`);
  }
  return parts.join('|');
};

const parseKey = (value: unknown): string => {
  if (typeof value !== 'string') {
    throw new RpcError(400, 'key must be a string');
  }
  return value;
};

const parseTtl = (value: unknown): number | null => {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RpcError(400, 'ttl must be null or a whole number of seconds, 1 or more');
  }
  return value;
};

const parseNx = (value: unknown): boolean => {
  if (value === undefined || value === null) {
    return false;
  }
  if (typeof value !== 'boolean') {
    throw new RpcError(400, 'nx must be null or a boolean');
  }
  return value;
};

const parseJsonText = (value: unknown): string => {
  if (typeof value !== 'string') {
    throw new RpcError(400, 'the value must be JSON text');
  }
  try {
    JSON.parse(value);
  } catch {
    throw new RpcError(400, 'the value must be JSON text');
  }
  return value;
};

const answer = (
  store: SandboxStore,
  identity: ZapierIdentity,
  method: unknown,
  params: readonly unknown[],
  now: number,
  onWrite: (bytes: number) => void,
): unknown => {
  switch (method) {
    case 'zcache_get': {
      const [key, scope] = params;
      return store.cacheGet(partitionOf(identity, parseScope(scope)), parseKey(key), now) ?? null;
    }
    case 'zcache_set': {
      const [key, value, ttl, scope, nx] = params;
      const seconds = parseTtl(ttl);
      onWrite(typeof value === 'string' ? Buffer.byteLength(value) : 0);
      return store.cacheSet(
        partitionOf(identity, parseScope(scope)),
        parseKey(key),
        parseJsonText(value),
        seconds === null ? null : now + seconds * 1000,
        parseNx(nx),
        now,
      );
    }
    case 'zcache_delete': {
      const [key, scope] = params;
      return store.cacheDelete(partitionOf(identity, parseScope(scope)), parseKey(key), now);
    }
    default:
      throw new RpcError(
        400,
        `Unknown method ${JSON.stringify(method)}: this sandbox answers zcache_get, zcache_set and zcache_delete`,
      );
  }
};

/** The request's `id`, echoed in every answer: the runtime rejects an answer with another. */
const idOf = (body: unknown): unknown =>
  isRecord(body) && (typeof body.id === 'number' || typeof body.id === 'string') ? body.id : null;

/** Registers the Zapier side on the sandbox's app; `origin` is the sandbox's URL. */
export const registerZapier = async (
  app: FastifyInstance,
  store: SandboxStore,
  now: () => number,
): Promise<Omit<ZapierSide, 'rpcUrl' | 'logUrl'>> => {
  let rpcCalls = 0;
  let logLines = 0;
  let httpLogLines = 0;
  let writes: CacheWrites = { count: 0, bytes: 0, largest: 0 };
  const onWrite = (bytes: number) => {
    writes = {
      count: writes.count + 1,
      bytes: writes.bytes + bytes,
      largest: Math.max(writes.largest, bytes),
    };
  };
  await app.register((zapier, _options, done) => {
    // The runtime streams its logs as JSON Lines, one JSON document per line.
    zapier.addContentTypeParser(
      'application/x-ndjson',
      { parseAs: 'string' },
      (_request, raw, parsed) => {
        parsed(null, typeof raw === 'string' ? raw : raw.toString('utf8'));
      },
    );

    zapier.post(
      RPC_PATH,
      { config: { rateLimit: false }, bodyLimit: RPC_BODY_LIMIT },
      (request, reply) => {
        rpcCalls += 1;
        const id = idOf(request.body);
        try {
          const identity = identify(store, request);
          const { body } = request;
          if (!isRecord(body) || id === null || !Array.isArray(body.params)) {
            throw new RpcError(
              400,
              'The body must be a JSON object {id, storeKey, method, params}',
            );
          }
          return { id, result: answer(store, identity, body.method, body.params, now(), onWrite) };
        } catch (error) {
          if (error instanceof RpcError) {
            reply.code(error.statusCode);
            return { id, error: error.message };
          }
          throw error;
        }
      },
    );

    zapier.post(
      LOG_PATH,
      { config: { rateLimit: false }, bodyLimit: LOG_BODY_LIMIT },
      (request, reply) => {
        try {
          identify(store, request);
        } catch (error) {
          if (error instanceof RpcError) {
            reply.code(error.statusCode);
            return { error: error.message };
          }
          throw error;
        }
        const text = typeof request.body === 'string' ? request.body : '';
        const lines = text.split('\n').filter((line) => line.trim() !== '');
        logLines += lines.length;
        httpLogLines += lines.filter((line) => line.includes('"log_type":"http"')).length;
        return { received: lines.length };
      },
    );
    done();
  });
  return {
    issueToken: (identity) => {
      const token = `zt-${randomBytes(24).toString('base64url')}`;
      store.addZapierToken(hashToken(token), identity);
      return token;
    },
    rpcCount: () => rpcCalls,
    logLines: () => logLines,
    httpLogLines: () => httpLogLines,
    cacheWrites: () => writes,
    resetCacheWrites: () => {
      writes = { count: 0, bytes: 0, largest: 0 };
    },
  };
};
