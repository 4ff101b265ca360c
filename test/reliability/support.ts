/**
 * Shared by the reliability tests: a recorder that captures every request nock answers (method,
 * path, query, parsed body), the contract's rules for what may be sent, and readers for the
 * payload of Zapier's JSON-wrapped errors (AppError, ThrottledError).
 */
import type nock from 'nock';

import { DEALAI_PATH } from '../helpers';

/** One request as the API saw it. `path` is relative to the provider's base URL. */
export interface Sent {
  method: string;
  path: string;
  query: Record<string, string[]>;
  body: unknown;
}

export type Answer = (sent: Sent) => nock.ReplyFnResult;

export const ROUTES = {
  dealai: [
    ['POST', '/users'],
    ['DELETE', '/users'],
    ['PATCH', '/users/role'],
  ],
  admin: [
    ['POST', '/users'],
    ['GET', '/users'],
    ['PATCH', '/users'],
    ['DELETE', '/users'],
    ['GET', '/user'],
  ],
} as const;

const parseBody = (body: nock.Body): unknown => {
  if (typeof body !== 'string') {
    return body;
  }
  if (body === '') {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed;
  } catch {
    return body;
  }
};

/** What a request URI (path and query, as nock hands it over) says. */
const describeUri = (method: string, uri: string, body: nock.Body): Sent => {
  const url = new URL(uri, 'http://recorded.invalid');
  const path = url.pathname.startsWith(DEALAI_PATH)
    ? url.pathname.slice(DEALAI_PATH.length)
    : url.pathname;
  const query: Record<string, string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    query[key] = url.searchParams.getAll(key);
  }
  return { method, path, query, body: parseBody(body) };
};

/**
 * Persisted interceptors for every route of a provider on `scope` (helpers' `dealai()`/`admin()`,
 * so the key header is still required). Each request is pushed to `log` and answered by `answer`,
 * which runs when the request arrives; `delayMs` (keyed "PATCH /users") holds the answer back.
 * The caller removes them with `nock.cleanAll()` when done.
 */
export const recordRoutes = (
  scope: nock.Scope,
  routes: readonly (readonly [string, string])[],
  log: Sent[],
  answer: Answer,
  delayMs: Readonly<Record<string, number>> = {},
): nock.Scope => {
  scope.persist();
  for (const [method, path] of routes) {
    const interceptor = scope.intercept(path, method).query(true);
    const delay = delayMs[`${method} ${path}`];
    (delay === undefined ? interceptor : interceptor.delay(delay)).reply((uri, body) => {
      const sent = describeUri(method, uri, body);
      log.push(sent);
      return answer(sent);
    });
  }
  return scope;
};

/** Code points, as the admin API counts an email's length. */
export const codePoints = (text: string): number => Array.from(text).length;

/** Why `email` breaks the contract (trimmed, one @, no whitespace, 1..255 code points), if it does. */
export const emailProblem = (email: unknown): string | undefined => {
  if (typeof email !== 'string') {
    return `is a ${typeof email}`;
  }
  if (email !== email.trim()) {
    return 'is not trimmed';
  }
  if (/\s/u.test(email)) {
    return 'contains whitespace';
  }
  const parts = email.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    return 'has not exactly one @ between a name and a domain';
  }
  // A bare address: no display name, list, scheme ("mailto:"), quotes, brackets or `{{`/`}}`.
  if (/[<>()[\],;:\\"]|\{\{|\}\}/u.test(email)) {
    return 'is not a bare address';
  }
  const length = codePoints(email);
  if (length < 1 || length > 255) {
    return `is ${length} code points long`;
  }
  return undefined;
};

/**
 * Why a request body is not well formed, if it is not: a body must be a JSON object whose values
 * are non-blank strings or finite numbers (never null, "", NaN, or a nested value), and whose
 * `email`, when present, obeys the contract.
 */
export const bodyProblem = (body: unknown): string | undefined => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `body is not a JSON object: ${body === undefined ? 'nothing' : JSON.stringify(body)}`;
  }
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') {
      if (value.trim() === '') {
        return `${key} is blank`;
      }
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        return `${key} is not finite`;
      }
    } else {
      return `${key} is ${value === undefined ? 'undefined' : JSON.stringify(value)}`;
    }
  }
  if ('email' in body) {
    const problem = emailProblem(body.email);
    if (problem !== undefined) {
      return `email ${problem}`;
    }
  }
  return undefined;
};

/** Paths to `undefined` values inside an output (Zapier drops them; a field would go missing). */
export const undefinedPaths = (value: unknown, path = '$'): string[] => {
  if (value === undefined) {
    return [path];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => undefinedPaths(item, `${path}[${String(index)}]`));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => undefinedPaths(item, `${path}.${key}`));
  }
  return [];
};
