/**
 * The one way to talk to the APIs. It knows the providers (providers.ts), checks the connection,
 * sends every request, and turns every failure into the z.errors class that makes Zapier do the
 * right thing, with the API's own words in the message. Actions never build URLs or read statuses.
 */
import { Readable } from 'node:stream';

import { JSONParser } from '@streamparser/json';
import type { Bundle, HttpResponse, RawHttpResponse, ZObject } from 'zapier-platform-core';

import { version } from '../package.json';
import { characters, show } from './fields';
import { PROVIDERS, providersWith, readProviderId, stepLabelsOf } from './providers';
import type { Provider, RouteName } from './providers';

/** The longest one request may take. */
export const REQUEST_TIMEOUT_MS = 12_000;

/**
 * Zapier stops a step after 30 s. An action usually sends one or two requests, at most four (a
 * top-up racing another Zap), so every request also ends before this budget for the whole step.
 */
export const STEP_BUDGET_MS = 25_000;
const MIN_REQUEST_MS = 1_000;

/** When a 429 or 503 carries no usable Retry-After, ask Zapier to wait this long. */
export const DEFAULT_RETRY_SECONDS = 60;

// Tells the API's operators which integration, and which version of it, sent a request.
const USER_AGENT = `Zapier whitelabel-users/${version}`;
const MAX_MESSAGE_CHARS = 300;

export interface Connection {
  provider: Provider;
  apiKey: string;
  baseUrl: string;
}

/**
 * Failures an action may take as an answer instead of an error: the account does not exist (404)
 * or already exists (409). They count only when they are the API's own answer (see
 * {@link ownAnswer}): a router's 404 on a wrong Base URL is never an account that is gone.
 */
type Outcome = 'missing' | 'exists';

/**
 * A key no API issues, sent only where it cannot change anything: the connection test's probe and
 * the check that a tolerated Deal.ai answer came from the API's own route (see docs/api.md).
 */
export const INVALID_KEY = 'zapier-whitelabel-users-invalid-key';

type ApiResult = { ok: true; data: unknown } | { ok: false; outcome: Outcome };

export interface CallOptions {
  body?: Record<string, string | number>;
  params?: Record<string, string>;
  /**
   * Sending this request twice would do something twice (grant credits twice). When it times out
   * or the connection drops, the API may already have applied it: the error (`MaybeApplied`) asks
   * the owner to check the account, and the action's guard (idempotency.ts) makes sure that a
   * replay of the step sends nothing.
   */
  replayUnsafe?: boolean;
  /**
   * Sending it again is harmless even after a lost answer, because the action reads the account
   * before it writes (Top Up). Such a write never counts in the step's {@link Effect}.
   */
  repeatable?: boolean;
}

/**
 * What a step's writes (requests other than GET, unless `repeatable`) may have done so far:
 * - `none`: every write was refused with an answer, or never left (the connection was refused);
 * - `applied`: a write was answered with success;
 * - `unknown`: a write may have reached the API, but its answer was lost (a timeout, a dropped
 *   connection, an answer cut short).
 * This is the one place that decides whether a failed step changed something, for the request
 * helper's own `MaybeApplied` errors (`replayUnsafe`) and for the Idempotency Key (idempotency.ts).
 */
export type Effect = 'none' | 'applied' | 'unknown';

export interface Api {
  connection: Connection;
  /** What this step's writes may have done so far (see {@link Effect}). */
  effect: () => Effect;
  /** Sends the request and returns the answer's JSON (undefined when there is none); any failure throws. */
  call: (route: RouteName, options?: CallOptions) => Promise<unknown>;
  /** Like call, but the failures named in `tolerate` come back as an outcome instead of an error. */
  attempt: (
    route: RouteName,
    options: CallOptions & { tolerate: readonly Outcome[] },
  ) => Promise<ApiResult>;
  /**
   * Deal.ai's connection test: sends `route` (which must change nothing) with the connection's
   * key, then with {@link INVALID_KEY}. Resolves when the API refused the body for the first and
   * the key for the second; any other pair means the Base URL does not reach the API.
   */
  probe: (route: RouteName, options: CallOptions) => Promise<void>;
  /**
   * Like call, for an answer that is a JSON list of any length: reads it as a stream and hands
   * each element to `onItem` as soon as it is parsed, so that the whole answer is never held
   * (see {@link readList}). Any failure throws, as with call; an answer that is not one JSON
   * list throws {@link NotAList}.
   */
  each: (route: RouteName, onItem: (item: unknown) => void, options?: CallOptions) => Promise<void>;
}

/** What the error paths read of an answer: a buffered one, or a streamed one read to the end. */
interface Answer {
  status: number;
  content: string;
  data: unknown;
  getHeader: (name: string) => string | null | undefined;
}

/**
 * What the writes of the Api an invocation opened last may have done, keyed by its `z`: for a
 * wrapper around a whole perform (ordering.ts), which must know whether a failed step may have
 * changed something without opening the Api itself.
 */
const effects = new WeakMap<ZObject, () => Effect>();

/** {@link Api.effect} of the Api this invocation (`z`) opened last; `none` when it opened none. */
export const effectSoFar = (z: ZObject): Effect => effects.get(z)?.() ?? 'none';

const isLoopbackHost = (hostname: string): boolean =>
  hostname === 'localhost' ||
  hostname === '[::1]' ||
  /^127(\.\d{1,3}){3}$/.test(hostname) ||
  hostname.endsWith('.localhost');

const reconnect = 'Edit the connection in Zapier (My Apps) and reconnect.';

/** Resolves the connection's base URL: empty means the provider's own. */
const resolveBaseUrl = (z: ZObject, provider: Provider, raw: string | undefined): string => {
  const value = (raw ?? '').trim();
  if (value === '') {
    return provider.defaultBaseUrl;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new z.errors.Error(
      `The connection's Base URL ${show(value)} is not a URL. Leave it empty to use ${provider.defaultBaseUrl}. ${reconnect}`,
      'InvalidBaseUrl',
    );
  }
  const plainHttpAllowed = url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !plainHttpAllowed) {
    throw new z.errors.Error(
      `The connection's Base URL must start with https:// (plain http:// only for localhost), not "${url.protocol}//". ${reconnect}`,
      'InvalidBaseUrl',
    );
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new z.errors.Error(
      `The connection's Base URL must not contain credentials, a query or a fragment. ${reconnect}`,
      'InvalidBaseUrl',
    );
  }
  return url.href.replace(/\/+$/, '');
};

/** Reads and checks the connection's fields. Throws before any request when they are unusable. */
export const readConnection = (z: ZObject, bundle: Bundle): Connection => {
  const { provider: named, apiKey, baseUrl } = bundle.authData;
  const providerId = readProviderId(named);
  if (providerId === undefined) {
    throw new z.errors.Error(
      `The connection has no known API Provider ("${String(named)}"). ${reconnect}`,
      'InvalidProvider',
    );
  }
  const provider = PROVIDERS[providerId];
  if (apiKey === undefined || apiKey.trim() === '') {
    throw new z.errors.ExpiredAuthError(`The connection has no API key. ${reconnect}`);
  }
  // The platform scrubs the key from its logs by exact value; a trimmed copy would slip through.
  if (apiKey !== apiKey.trim()) {
    throw new z.errors.ExpiredAuthError(
      `The connection's API key starts or ends with spaces or line breaks. ${reconnect} Paste the key again without them.`,
    );
  }
  return { provider, apiKey, baseUrl: resolveBaseUrl(z, provider, baseUrl) };
};

const joinList = (items: readonly string[]): string =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1) ?? ''}`;

/**
 * Opens the API for one action: checks the connection and that its provider has every route the
 * action needs, so that an action on the wrong provider fails before any request.
 */
export const apiFor = (
  z: ZObject,
  bundle: Bundle,
  actionLabel: string,
  routes: readonly RouteName[],
): Api => {
  const connection = readConnection(z, bundle);
  const deadline = Date.now() + STEP_BUDGET_MS;
  let effect: Effect = 'none';
  effects.set(z, () => effect);
  const noteEffect = (
    route: RouteName,
    options: CallOptions,
    happened: Exclude<Effect, 'none'>,
  ) => {
    const write = connection.provider.routes[route]?.method !== 'GET';
    if (write && options.repeatable !== true && effect !== 'unknown') {
      effect = happened;
    }
  };
  const missing = routes.filter((route) => connection.provider.routes[route] === undefined);
  if (missing.length > 0) {
    const supporting = joinList(providersWith(routes).map((provider) => provider.label));
    const article = /^[AEIOU]/.test(supporting) ? 'an' : 'a';
    const { label, id } = connection.provider;
    throw new z.errors.Error(
      `${actionLabel} works only with ${article} ${supporting} connection; this connection uses the ${label}, which offers ${stepLabelsOf(id)}. Use one of those, remove this step, or choose ${article} ${supporting} connection for it if you have one.`,
      'UnsupportedByProvider',
    );
  }
  const send = async (route: RouteName, options: CallOptions) => {
    try {
      return await transport(z, connection, deadline, route, options);
    } catch (error) {
      if (mayHaveArrived(error)) {
        noteEffect(route, options, 'unknown');
      }
      throw error;
    }
  };
  const sendRaw = async (route: RouteName, options: CallOptions) => {
    try {
      return await transport(z, connection, deadline, route, options, true);
    } catch (error) {
      if (mayHaveArrived(error)) {
        noteEffect(route, options, 'unknown');
      }
      throw error;
    }
  };
  const accept = (
    route: RouteName,
    options: CallOptions,
    response: HttpResponse<unknown>,
  ): unknown => {
    const data = answerOf(z, connection, response);
    noteEffect(route, options, 'applied');
    return data;
  };
  return {
    connection,
    effect: () => effect,
    call: async (route, options = {}) => {
      const response = await send(route, options);
      return succeeded(response)
        ? accept(route, options, response)
        : raise(z, connection, route, response);
    },
    attempt: async (route, options) => {
      const response = await send(route, options);
      if (succeeded(response)) {
        return { ok: true, data: accept(route, options, response) };
      }
      const outcome = toleratedOutcome(response.status, options.tolerate);
      if (outcome === undefined) {
        return raise(z, connection, route, response);
      }
      await ownAnswer(z, connection, deadline, route, options, response);
      return { ok: false, outcome };
    },
    probe: async (route, options) => {
      const answer = await transport(z, connection, deadline, route, options);
      const { status } = answer;
      if (status === 401 || status === 403 || status === 429 || status >= 500) {
        return raise(z, connection, route, answer);
      }
      refuseWebPage(z, connection, answer);
      // A 405 says the route is not there. A 404 may be the API's own (it may look up the missing
      // email and find nobody), so the key check below decides whether the route exists.
      if (status === 405) {
        throw notTheApi(z, connection, `answered ${sentBack(connection, answer)}`);
      }
      if (status < 400) {
        throw notTheApi(
          z,
          connection,
          `accepted a request that names no user, which the API refuses: ${sentBack(connection, answer)}`,
        );
      }
      const refused = await transport(z, withInvalidKey(connection), deadline, route, options);
      if (refused.status === 401 || refused.status === 403) {
        return;
      }
      if (refused.status === 429 || refused.status >= 500) {
        return raise(z, connection, route, refused);
      }
      refuseWebPage(z, connection, refused);
      throw notTheApi(
        z,
        connection,
        `does not check keys: it answered ${sentBack(connection, answer)} With a key that cannot be valid it answered ${sentBack(connection, refused)}`,
      );
    },
    each: async (route, onItem, options = {}) => {
      const response = await sendRaw(route, options);
      if (!succeeded(response)) {
        return raise(z, connection, route, await readAnswer(response));
      }
      refuseWebPage(z, connection, response);
      // z.request's timeout ends with the headers of a raw answer: the list must be read by the
      // step's own deadline.
      const budget = Math.max(0, deadline - Date.now());
      const timer = setTimeout(() => {
        const body: unknown = response.body;
        if (body instanceof Readable) {
          body.destroy(new StreamTimeout());
        }
      }, budget);
      try {
        await readList(response.body, onItem);
      } catch (error) {
        // The caller says what the list should have held; a dropped stream is the network's.
        throw error instanceof StreamFailure ? streamFailure(z, connection, budget, error) : error;
      } finally {
        clearTimeout(timer);
      }
      noteEffect(route, options, 'applied');
    },
  };
};

/** The connection with {@link INVALID_KEY} (never equal to its own key). */
const withInvalidKey = (connection: Connection): Connection => ({
  ...connection,
  apiKey: connection.apiKey === INVALID_KEY ? `${INVALID_KEY}-2` : INVALID_KEY,
});

/** What an answer was, for a message: its status, its type and the API's words. */
const sentBack = (connection: Connection, response: Answer): string => {
  const type = (response.getHeader('content-type') ?? '').split(';')[0]?.trim() ?? '';
  return `HTTP ${String(response.status)}${type === '' ? '' : ` (${type})`}: ${sentence(apiMessage(response, connection.apiKey))}`;
};

/** "the Administration API", "the Deal.ai White Label API". */
const apiName = (connection: Connection): string => {
  const { label } = connection.provider;
  return `the ${label}${label.endsWith(' API') ? '' : ' API'}`;
};

/**
 * Whether an error answer is the Administration API's own: its documented errors are plain text
 * sentences, so JSON (by its type or its body) comes from a router or a gateway in front.
 */
const isPlainTextError = (response: Answer): boolean => {
  const type = response.getHeader('content-type') ?? '';
  const data: unknown = response.data;
  return !/\bjson\b/i.test(type) && (typeof data !== 'object' || data === null);
};

/** The error for a Base URL that reaches something other than the provider's API. */
const notTheApi = (z: ZObject, connection: Connection, what: string): Error =>
  new z.errors.Error(
    `The Base URL ${connection.baseUrl} does not reach ${apiName(connection)}: it ${what} Check the connection's Base URL. ${reconnect}`,
    'WrongBaseUrl',
  );

/**
 * Proves that a tolerated failure is the API's own answer, or throws. A web page never is. The
 * Administration API documents its errors as text/plain; anything else is a router's. Deal.ai
 * documents no error body, so the same request is sent once more with {@link INVALID_KEY}: its
 * routes check the key (a 401 or 403), while a router answers whatever the key. That second
 * request cannot change anything, and it is sent only in this tolerated case.
 */
const ownAnswer = async (
  z: ZObject,
  connection: Connection,
  deadline: number,
  route: RouteName,
  options: CallOptions,
  response: HttpResponse<unknown>,
): Promise<void> => {
  refuseWebPage(z, connection, response);
  if (connection.provider.id === 'admin') {
    if (!isPlainTextError(response)) {
      throw notTheApi(
        z,
        connection,
        `answered ${sentBack(connection, response)} ${apiName(connection).replace(/^t/, 'T')} answers its errors as plain text, so this answer came from something else, and nothing was done.`,
      );
    }
    return;
  }
  const { body, params } = options;
  const check = await transport(z, withInvalidKey(connection), deadline, route, { body, params });
  if (check.status === 401 || check.status === 403) {
    return;
  }
  throw notTheApi(
    z,
    connection,
    `answered ${sentBack(connection, response)} With a key that cannot be valid it answered ${sentBack(connection, check)} The API checks the key first, so this answer came from something else, and nothing was done.`,
  );
};

/**
 * The answer is not one JSON list: it ended early, was not JSON, or held something else. The
 * caller of `each` turns it into the error that says what the list should have held.
 */
export class NotAList extends Error {
  override name = 'NotAList';
}

/** The answer's stream failed while it was read: it was cut, or it took too long. */
class StreamFailure extends Error {
  override name = 'StreamFailure';
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

class StreamTimeout extends Error {
  override name = 'StreamTimeout';
}

const streamFailure = (
  z: ZObject,
  connection: Connection,
  budget: number,
  failure: StreamFailure,
): Error => {
  const { reason } = failure;
  const code: unknown = reason instanceof Error ? Reflect.get(reason, 'code') : undefined;
  const what =
    reason instanceof StreamTimeout
      ? `did not finish its answer within ${String(Math.round(budget / 1000))} seconds`
      : `dropped the connection${typeof code === 'string' ? ` (${code})` : ''}`;
  return new z.errors.Error(
    `${connection.provider.label} at ${new URL(connection.baseUrl).host} ${what}. Check the connection's Base URL, or try again later.`,
    'ApiUnreachable',
  );
};

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Reads a JSON array from `body` chunk by chunk with @streamparser/json, handing each element to
 * `onItem` once it is complete. With `keepStack: false` the parser drops each element from the
 * array once handed over, so memory holds one element and one chunk, whatever the list's length.
 * Throws NotAList when the body is not exactly one JSON array (the parser's own error, a body
 * cut short, another top-level value), StreamFailure when the stream itself fails, and an error
 * thrown by `onItem` as is.
 */
export const readList = async (
  body: AsyncIterable<unknown>,
  onItem: (item: unknown) => void,
): Promise<void> => {
  const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
  // The first failure; the parser reports its own and those of onItem through here too.
  let failure: Error | undefined;
  parser.onError = (error) => {
    failure ??= new NotAList(error.message);
  };
  parser.onValue = ({ value, key }) => {
    if (failure !== undefined) {
      return;
    }
    if (typeof key !== 'number') {
      failure ??= new NotAList('an object, not a list');
      return;
    }
    try {
      onItem(value);
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
  };
  let started = false;
  const chunks = body[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await chunks.next();
    } catch (error) {
      throw new StreamFailure(error);
    }
    if (next.done === true) {
      break;
    }
    const chunk = next.value;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) {
      throw new NotAList('not bytes');
    }
    if (!started) {
      const first = bytes.findIndex((byte) => !WHITESPACE.has(byte));
      if (first >= 0 && bytes[first] !== 0x5b) {
        throw new NotAList('not a list');
      }
      started = first >= 0;
    }
    parser.write(bytes);
    if (failure !== undefined) {
      throw failure;
    }
  }
  if (!started || !parser.isEnded) {
    throw new NotAList('the answer ended before the list did');
  }
};

/** A streamed error answer, read to the end as the buffered path would have read it. */
const readAnswer = async (response: RawHttpResponse): Promise<Answer> => {
  const content = await response.text();
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    data = undefined;
  }
  return { status: response.status, content, data, getHeader: (name) => response.getHeader(name) };
};

/** The API's own words from an error body: JSON or plain text, or the title of an HTML page. */
const apiMessage = (response: Answer, secret: string): string => {
  const content = response.content.trim();
  let message = content;
  const data = response.data;
  if (typeof data === 'string') {
    message = data;
  } else if (typeof data === 'object' && data !== null) {
    message = messageFromJson(data) ?? content;
  } else if (/^<(!doctype|html|head|body)\b/i.test(content)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(content)?.[1]?.trim();
    message = `an HTML page${title ? ` titled "${title}"` : ''} instead of an API answer`;
  }
  message = message.replace(/\s+/g, ' ').trim();
  if (message === '') {
    return 'no details given';
  }
  if (secret !== '') {
    message = message.split(secret).join('[API key]');
  }
  const chars = characters(message);
  return chars.length > MAX_MESSAGE_CHARS
    ? `${chars.slice(0, MAX_MESSAGE_CHARS).join('')}…`
    : message;
};

const messageFromJson = (data: object): string | undefined => {
  for (const key of ['message', 'error', 'detail', 'error_description', 'errors']) {
    const value: unknown = Reflect.get(data, key);
    const text = messageText(value);
    if (text !== undefined) {
      return text;
    }
  }
  return undefined;
};

const messageText = (value: unknown): string | undefined => {
  if (typeof value === 'string' && value.trim() !== '') {
    return value;
  }
  if (Array.isArray(value)) {
    const parts = value.map(messageText).filter((part) => part !== undefined);
    return parts.length > 0 ? parts.join('; ') : undefined;
  }
  if (typeof value === 'object' && value !== null) {
    return messageFromJson(value);
  }
  return undefined;
};

/** Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. */
export const retryAfterSeconds = (
  header: string | null | undefined,
  now = Date.now(),
): number | null => {
  if (header === undefined || header === null || header.trim() === '') {
    return null;
  }
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    return Number(value);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
};

/** Ends a quoted message with one full stop, whatever punctuation it brought. */
const sentence = (message: string): string => (/[.!?…]$/.test(message) ? message : `${message}.`);

const OUTCOME_BY_STATUS: Partial<Record<number, Outcome>> = { 404: 'missing', 409: 'exists' };

const PHRASES: Partial<Record<number, string>> = {
  400: 'rejected the request as malformed',
  404: 'found no such account',
  409: 'says the account already exists',
  422: 'rejected a value',
};

const isNetworkError = (error: unknown): error is Error & { type?: unknown; code?: unknown } =>
  error instanceof Error && error.name === 'FetchError';

function transport(
  z: ZObject,
  connection: Connection,
  deadline: number,
  routeName: RouteName,
  options: CallOptions,
): Promise<HttpResponse<unknown>>;
function transport(
  z: ZObject,
  connection: Connection,
  deadline: number,
  routeName: RouteName,
  options: CallOptions,
  raw: true,
): Promise<RawHttpResponse>;
async function transport(
  z: ZObject,
  connection: Connection,
  deadline: number,
  routeName: RouteName,
  options: CallOptions,
  raw = false,
): Promise<HttpResponse<unknown> | RawHttpResponse> {
  const { provider, apiKey, baseUrl } = connection;
  const route = provider.routes[routeName];
  if (route === undefined) {
    // apiFor() checks the routes an action declares; this is an action using an undeclared one.
    throw new Error(`${provider.label} has no route "${routeName}"; declare it in apiFor()`);
  }
  const timeout = Math.min(REQUEST_TIMEOUT_MS, deadline - Date.now());
  if (timeout < MIN_REQUEST_MS) {
    throw unsent(
      new z.errors.Error(
        `${provider.label} answered too slowly for this step to finish within Zapier's time limit. Try again later.`,
        'StepTimeBudget',
      ),
    );
  }
  const request = {
    url: `${baseUrl}${route.path}`,
    method: route.method,
    headers: {
      ...provider.authHeader(apiKey),
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(options.params === undefined ? {} : { params: options.params }),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    timeout,
    skipThrowForStatus: true,
  };
  try {
    // raw: the answer comes as a stream, which z.request neither buffers, parses nor logs.
    return raw ? await z.request({ ...request, raw: true }) : await z.request<unknown>(request);
  } catch (error) {
    const failure = networkFailure(z, connection, options.replayUnsafe === true, timeout, error);
    throw neverSent(error) ? unsent(failure) : failure;
  }
}

const succeeded = (response: { status: number }): boolean =>
  response.status >= 200 && response.status < 300;

/**
 * The JSON of a successful answer (undefined when it has none: Deal.ai documents no 200 bodies).
 * A web page is no answer at all: a Base URL pointing at a website must not report success.
 */
const answerOf = (z: ZObject, connection: Connection, response: HttpResponse<unknown>): unknown => {
  refuseWebPage(z, connection, response);
  return response.data;
};

/** Throws when the answer is a web page: it comes from a website, not from the API. */
const refuseWebPage = (
  z: ZObject,
  connection: Connection,
  response: Pick<Answer, 'status' | 'getHeader'>,
) => {
  if (/^text\/html\b/i.test(response.getHeader('content-type') ?? '')) {
    throw new z.errors.Error(
      `${connection.provider.label} answered with a web page instead of the API (HTTP ${String(response.status)}) at ${connection.baseUrl}. Check the connection's Base URL.`,
      'UnexpectedResponse',
      response.status,
    );
  }
};

/** The outcome an action chose to accept for this failed response, if any. */
const toleratedOutcome = (status: number, tolerate: readonly Outcome[]): Outcome | undefined => {
  const outcome = OUTCOME_BY_STATUS[status];
  return outcome !== undefined && tolerate.includes(outcome) ? outcome : undefined;
};

/**
 * Throws the Zapier error that fits a failed response, with the API's own words. The one rule:
 * whatever leaves the owner something to do is a `z.errors.Error` (or ExpiredAuthError, or a
 * ThrottledError that Zapier retries by itself), so that Zapier reports it; nothing here halts.
 * Every refusal by the API, 404, 409 and 422 included, is such an error: the request was answered
 * and not applied, so Zapier's replay of the step is safe (docs/outcomes.md).
 */
const raise = (
  z: ZObject,
  connection: Connection,
  routeName: RouteName,
  response: Answer,
): never => {
  const { provider, apiKey } = connection;
  const { status } = response;
  const message = apiMessage(response, apiKey);
  const label = provider.label;

  if (status === 401 || status === 403) {
    const hint =
      provider.id === 'dealai' ? ' Check that the API is enabled in White Label Settings.' : '';
    throw new z.errors.ExpiredAuthError(
      `${label} rejected the API key (HTTP ${status}): ${sentence(message)}${hint} ${reconnect}`,
    );
  }
  // getHeader() answers null, not undefined, for a missing header.
  const retryAfter = retryAfterSeconds(response.getHeader('retry-after'));
  if (status === 429 || (status === 503 && retryAfter !== null)) {
    const delay = retryAfter ?? DEFAULT_RETRY_SECONDS;
    const what = status === 429 ? 'is limiting the request rate' : 'is unavailable';
    throw new z.errors.ThrottledError(
      `${label} ${what} (HTTP ${status}): ${sentence(message)} Zapier will retry in ${delay} seconds.`,
      delay,
    );
  }
  if (status >= 500) {
    throw new z.errors.Error(
      `${label} failed on its side (HTTP ${status}): ${sentence(message)} Try again later.`,
      'ApiServerError',
      status,
    );
  }
  refuseWebPage(z, connection, response);
  const method = provider.routes[routeName]?.method;
  // A route that creates or reads names no existing account: its 404 is a missing route. So is a
  // 405 anywhere, and, on the Administration API, a 404 that is not its documented plain text.
  if (
    status === 405 ||
    (status === 404 &&
      (method === 'POST' ||
        method === 'GET' ||
        (provider.id === 'admin' && !isPlainTextError(response))))
  ) {
    throw notTheApi(z, connection, `answered ${sentBack(connection, response)}`);
  }
  const phrase = PHRASES[status] ?? 'refused the request';
  const hint =
    status === 404 && provider.id === 'dealai'
      ? " If the user does exist, check the connection's Base URL."
      : '';
  throw new z.errors.Error(
    `${label} ${phrase} (HTTP ${status}): ${hint === '' ? message : sentence(message)}${hint}`,
    'ApiClientError',
    status,
  );
};

/** Network error codes raised before a connection exists, so before anything was sent. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * Only a failure to connect proves the request never reached the API. Any other drop may come
 * after the API applied it: a 200 cut short mid-body surfaces as ERR_STREAM_PREMATURE_CLOSE
 * (test/reliability/faults.test.ts), and so does anything unexpected z.request throws.
 */
const neverSent = (error: unknown): boolean => {
  if (!isNetworkError(error)) {
    return false;
  }
  const timedOut = error.type === 'request-timeout' || error.type === 'body-timeout';
  return !timedOut && typeof error.code === 'string' && NEVER_SENT.has(error.code);
};

/** The errors thrown before a request left: they say nothing was applied. */
const UNSENT = new WeakSet<Error>();

const unsent = (error: Error): Error => {
  UNSENT.add(error);
  return error;
};

const mayHaveArrived = (error: unknown): boolean => !(error instanceof Error && UNSENT.has(error));

const networkFailure = (
  z: ZObject,
  connection: Connection,
  replayUnsafe: boolean,
  timeout: number,
  error: unknown,
): Error => {
  if (!isNetworkError(error)) {
    // Anything else z.request throws is already a Zapier error (or a bug); let it through.
    return error instanceof Error ? error : new Error(String(error));
  }
  const { label } = connection.provider;
  const host = new URL(connection.baseUrl).host;
  const timedOut = error.type === 'request-timeout' || error.type === 'body-timeout';
  const code = typeof error.code === 'string' ? error.code : undefined;
  const reason = timedOut
    ? `did not answer within ${String(Math.round(timeout / 1000))} seconds`
    : code === 'ECONNREFUSED'
      ? 'refused the connection'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'could not be found (no such host)'
        : `dropped the connection${code === undefined ? '' : ` (${code})`}`;
  // A drop after the request may have been applied: the owner must check (neverSent). A replay of
  // the step sends nothing: the action's guard (idempotency.ts) remembers this outcome.
  if (replayUnsafe && !neverSent(error)) {
    return new z.errors.Error(
      `${label} at ${host} ${reason}, so the change may or may not have been applied. Check the account before replaying this step, so that nothing is done twice.`,
      'MaybeApplied',
    );
  }
  return new z.errors.Error(
    `${label} at ${host} ${reason}. Check the connection's Base URL, or try again later.`,
    'ApiUnreachable',
  );
};
