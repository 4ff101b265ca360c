/**
 * What every unit test needs: the app run as Zapier does, through the one harness
 * (tools/harness.ts, CLI mode) with z.cache in this file's memory; a connection per provider; nock
 * scopes that only answer requests carrying the right key; and a record of requests nock refused,
 * so a test can prove that nothing was sent.
 */
import nock from 'nock';
import type { Bundle, ZObject } from 'zapier-platform-core';

import App from '../index';
import { INVALID_KEY } from '../src/client';
import { inProcessApp } from '../tools/harness';

const app = inProcessApp(App, 'cli');

let cache: Record<string, unknown> = {};

/**
 * Empties z.cache, as for a new Zap. Each test starts with an empty one: the Idempotency Key, the
 * guard of a grant that may have been applied (src/idempotency.ts) and the triggers' memory
 * remember across runs.
 */
export const resetCache = (): void => {
  cache = {};
};
beforeEach(resetCache);

/** What z.cache holds now (core's in-memory stand-in, which ignores ttl, scope and nx). */
export const cached = (): Record<string, unknown> => cache;

/** Deletes one key from z.cache, as an eviction or expiry would. */
export const uncache = (key: string): void => {
  if (!(key in cache)) {
    throw new Error(`z.cache holds no ${key}`);
  }
  Reflect.deleteProperty(cache, key);
};

export const DEALAI_KEY = 'dk_live_TEST-7f3a9c21e4b8';
export const ADMIN_KEY = 'a1-TESTtokenQm9vZ2xlQWRtaW4x';

export const DEALAI_ORIGIN = 'https://api.marketing.deal.ai';
export const DEALAI_PATH = '/api/2024-01/whitelabel';
export const ADMIN_ORIGIN = 'https://api.agentfirst.dev';

export const dealaiAuth = { provider: 'dealai', apiKey: DEALAI_KEY };
export const adminAuth = { provider: 'admin', apiKey: ADMIN_KEY };

/** Answers only requests that carry Deal.ai's key header, JSON content type and our User-Agent. */
export const dealai = (): nock.Scope =>
  nock(`${DEALAI_ORIGIN}${DEALAI_PATH}`, {
    reqheaders: {
      'deal-ai-api-key': DEALAI_KEY,
      'user-agent': /^Zapier whitelabel-users\/\d+\.\d+\.\d+$/,
    },
    badheaders: ['authorization'],
  });

/** Answers only requests that carry the key no API issues (src/client.ts, INVALID_KEY). */
export const dealaiWithInvalidKey = (): nock.Scope =>
  nock(`${DEALAI_ORIGIN}${DEALAI_PATH}`, {
    reqheaders: { 'deal-ai-api-key': INVALID_KEY },
    badheaders: ['authorization'],
  });

/** Answers only requests that carry the admin API's bearer token. */
export const admin = (): nock.Scope =>
  nock(ADMIN_ORIGIN, {
    reqheaders: {
      authorization: `Bearer ${ADMIN_KEY}`,
      'user-agent': /^Zapier whitelabel-users\/\d+\.\d+\.\d+$/,
    },
    badheaders: ['deal-ai-api-key'],
  });

type Perform = (z: ZObject, bundle: Bundle) => unknown;

/** The function of the app definition that each {@link callable} wraps, so it runs as itself. */
const definitionOf = new WeakMap<Perform, unknown>();

type Inputs = {
  authData?: Record<string, string>;
  inputData?: Record<string, unknown>;
  meta?: Record<string, unknown>;
};

const bundleOf = (inputs: Inputs) => ({ authData: {}, inputData: {}, ...inputs });

/**
 * Runs a function as one invocation of the app (what Zapier's app tester did): one of the app's (its
 * perform, the connection test, from {@link callable}) under its own method, so that the
 * platform checks its result, anything else with a real `z`. Answers what the handler answers.
 */
export const inApp = (fn: Perform, inputs: Inputs): Promise<unknown> =>
  app.call(definitionOf.get(fn) ?? fn, bundleOf(inputs), { memory: cache });

/** Runs `fn` with a real invocation's `z` and bundle, and answers what it returned. */
export const withZ = <T>(
  fn: (z: ZObject, bundle: Bundle) => T | Promise<T>,
  inputs: Inputs = {},
): Promise<T> => app.returnOf(fn, bundleOf(inputs), { memory: cache });

/** A function from the app definition (a perform, the connection test), callable by the tester. */
export const callable = (fn: unknown): Perform => {
  if (typeof fn !== 'function') {
    throw new Error('expected a function in the app definition');
  }
  const wrapped: Perform = (z, bundle) => {
    const result: unknown = Reflect.apply(fn, undefined, [z, bundle]);
    return result;
  };
  definitionOf.set(wrapped, fn);
  return wrapped;
};

/** An action's perform function, as the app definition holds it. */
export const performOf = (action: { operation: { perform?: unknown } }): Perform =>
  callable(action.operation.perform);

/** Runs an action as one invocation of the app, as the platform would. */
export const run = (
  action: { operation: { perform?: unknown } },
  authData: Record<string, string>,
  inputData: Record<string, unknown>,
): Promise<unknown> => inApp(performOf(action), { authData, inputData });

/** Requests that reached nock without a matching interceptor: the ones that should not exist. */
export const unmatched: string[] = [];
nock.emitter.on('no match', (req: { method?: string; path?: string }) => {
  unmatched.push(`${req.method ?? '?'} ${req.path ?? '?'}`);
});

/** The error a promise rejects with; fails the test when it resolves. */
export const failure = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) {
      return error;
    }
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected the promise to reject, but it resolved');
};

/**
 * The user-facing message of a Zapier error: AppError and ThrottledError wrap theirs in JSON; the
 * others get the platform's "What happened" context (with the input data) appended.
 */
export const messageOf = (error: Error): string => {
  try {
    const parsed: unknown = JSON.parse(error.message);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
      return String(parsed.message);
    }
  } catch {
    // a plain message
  }
  return error.message.split('\nWhat happened:')[0] ?? '';
};

/** The payload of an error that Zapier wraps in JSON (AppError, ThrottledError). */
export const payloadOf = (error: Error): Record<string, unknown> => {
  const parsed: unknown = JSON.parse(error.message);
  if (typeof parsed !== 'object' || parsed === null) {
    throw new Error(`not a JSON-wrapped error: ${error.message}`);
  }
  return Object.fromEntries(Object.entries(parsed));
};

/** A ThrottledError's message and the delay (seconds) it asks Zapier to wait. */
export const throttleOf = (error: Error): { message: string; delay: number | null } => {
  const { message, delay } = payloadOf(error);
  if (typeof message !== 'string') {
    throw new Error(`not a ThrottledError: ${error.message}`);
  }
  return { message, delay: typeof delay === 'number' ? delay : null };
};

beforeAll(() => {
  // Jest gives each test file a fresh nock but shares Node's http module within a worker, so each
  // file activates its own nock and restores http when done.
  if (!nock.isActive()) {
    nock.activate();
  }
  nock.disableNetConnect();
});

afterAll(() => {
  nock.restore();
});

beforeEach(() => {
  unmatched.length = 0;
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
