/**
 * A local HTTP sandbox of both white-label admin APIs, for end-to-end tests, demos and benchmarks.
 *
 * - Deal.ai white label under {@link DEALAI_PREFIX}, authenticated by the `Deal-AI-API-Key` header;
 *   errors are JSON `{"error": "<message>"}` (Deal.ai documents no error body; this is the
 *   realistic shape).
 * - The Agent First-style administration service at the root (`/users`, `/user`), authenticated by
 *   `Authorization: Bearer <token>`; errors are `text/plain` with the texts of its OpenAPI document.
 *
 * The two providers are separate tenants with separate tables (see ./db). Under `/zapier` the
 * sandbox also plays Zapier's side of a run: the RPC endpoint behind `z.cache` and a sink for the
 * runtime's logs (see ./zapier).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { MAX_BALANCE, SandboxStore, USAGE_SERVICES } from './db';
import type { AdminAccount, DealaiUser, UsageRow, UsageService } from './db';
import { LOG_PATH, RPC_PATH, isZapierPath, registerZapier } from './zapier';
import type { ZapierSide } from './zapier';
import { isRecord } from '../project';

export const SANDBOX_DEALAI_KEY = 'sandbox-dealai-key';
export const SANDBOX_ADMIN_TOKEN = 'sandbox-admin-token';
export const SANDBOX_OWNER_EMAIL = 'owner@sandbox.test';
export const DEALAI_PREFIX = '/api/2024-01/whitelabel';
/**
 * Routes the real APIs do not have (spending credits, seeding accounts) live under this prefix,
 * authenticated like the administration API, so that checks of the API contract can skip them.
 */
export const SANDBOX_ONLY_PREFIX = '/sandbox';

export interface SandboxOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default ':memory:'. A file path survives restarts. */
  dbPath?: string;
  /** Per provider and credential; default { max: 600, windowMs: 60_000 }. */
  rateLimit?: { max: number; windowMs: number };
  /** Fastify logging; default false. */
  logger?: boolean;
  /** The clock (ms since the epoch) that cache expiry follows; default Date.now. */
  now?: () => number;
  /** Keep every request and its answer for {@link Sandbox.takeExchanges}; default false. */
  record?: boolean;
}

/** One request to the sandbox and the answer it got, as the conformance checks read them. */
export interface Exchange {
  method: string;
  /** The request path, without the query string. */
  path: string;
  /** The raw query string, without its '?' ('' when there is none). */
  query: string;
  headers: IncomingHttpHeaders;
  /** The raw request body ('' when there is none). */
  body: string;
  status: number;
  /** The answer's Content-Type header, if any. */
  contentType: string | undefined;
  responseHeaders: Record<string, string | string[]>;
  responseBody: string;
}

export interface Sandbox {
  /** e.g. 'http://127.0.0.1:53211' (no trailing slash). */
  url: string;
  /** url + DEALAI_PREFIX */
  dealaiBaseUrl: string;
  /** url */
  adminBaseUrl: string;
  /** Requests to the APIs received since start (not the Zapier side's, nor the sandbox-only). */
  requestCount(): number;
  resetRequestCount(): void;
  /** Zapier's side of a run: the cache's RPC endpoint, the log sink and their tokens. */
  zapier: ZapierSide;
  /** The exchanges recorded since the last call, oldest first; needs `record: true`. */
  takeExchanges(): Exchange[];
  /** A Deal.ai user as the site stores it (the API has no read route): for tests and the story. */
  dealaiUser(email: string): DealaiUser | undefined;
  close(): Promise<void>;
}

export const DEFAULT_ROLES: readonly string[] = ['Basic Plan', 'Premium Plan'];
export const DEFAULT_RATE_LIMIT = { max: 600, windowMs: 60_000 } as const;

/** Characters (code points), not bytes or UTF-16 units. */
const MAX_CHARACTERS = 255;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/u;

type Provider = 'dealai' | 'admin';

/** What a router answers for a path it has no route for (Fastify's and most gateways' shape). */
const ROUTER_NOT_FOUND = { error: 'Not Found' } as const;

interface ProviderTexts {
  malformed: string;
  missingCredential: string;
  invalidCredential: string;
  unknown: string;
  rateLimited: (seconds: number) => string;
}

const TEXTS: Record<Provider, ProviderTexts> = {
  admin: {
    malformed: 'JSON was malformed',
    missingCredential: 'Authorization header must be provided',
    invalidCredential: 'Valid API token must be provided',
    unknown: 'Unknown error occurred',
    rateLimited: (seconds) => `Rate limit was exceeded; please retry in ${seconds} seconds`,
  },
  dealai: {
    malformed: 'Request body is not valid JSON',
    missingCredential: 'Deal-AI-API-Key header is required',
    invalidCredential: 'Invalid API key',
    unknown: 'Internal server error',
    rateLimited: (seconds) => `Rate limit exceeded; please retry in ${seconds} seconds`,
  },
};

const ADMIN = {
  emailMissing: 'Email must be provided',
  emailTooLong: `Character counts must be no more than ${MAX_CHARACTERS}`,
  emailInvalid: 'Email must be a valid address',
  notObject: 'Request body must be a JSON object',
  credits: 'Credits must be a non-negative integer',
  amount: 'Amount must be a positive integer',
  overflow: `Credits must be no more than ${MAX_BALANCE}`,
  notFound: 'Email is nonexistent',
  conflict: 'Email already exists',
} as const;

const USAGE = {
  fromMissing: 'From must be provided',
  fromInvalid: 'From must be an ISO datetime',
  toMissing: 'To must be provided',
  toInvalid: 'To must be an ISO datetime',
  toBeforeFrom: 'To must not be before From',
  service: `Service must be ${USAGE_SERVICES.join(' or ')}`,
  by: 'By must be hour or total',
} as const;

const SANDBOX_ONLY = {
  calls: 'Calls must be a positive integer',
  failed: 'Failed must be true or false',
  secs: 'Secs must be a non-negative number',
  at: 'At must be an ISO datetime',
  accounts: 'Accounts must be a list of {email, credits}',
  insufficient: (credits: number) =>
    `Credit balance is ${credits}; top up at https://agentfirst.dev/#pricing`,
} as const;

const DEALAI = {
  emailMissing: 'email is required',
  emailTooLong: `email must be no more than ${MAX_CHARACTERS} characters`,
  emailInvalid: 'email must be a valid email address',
  notObject: 'Request body must be a JSON object',
  firstNameMissing: 'firstName is required',
  sendInviteEmail: 'sendInviteEmail must be "yes" or "no"',
  notFound: 'User not found',
  conflict: 'User already exists',
} as const;

/** An error answered with its status and message in the provider's error shape. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

class MalformedJsonError extends Error {
  readonly statusCode = 400;
  constructor() {
    super('Malformed JSON');
    this.name = 'MalformedJsonError';
  }
}

class RateLimitedError extends Error {
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super(`Rate limited for ${retryAfterSeconds} seconds`);
    this.name = 'RateLimitedError';
  }
}

function providerOf(url: string): Provider {
  const pathname = url.split('?', 1)[0] ?? url;
  return pathname === DEALAI_PREFIX || pathname.startsWith(`${DEALAI_PREFIX}/`)
    ? 'dealai'
    : 'admin';
}

function sendError(
  reply: FastifyReply,
  provider: Provider,
  statusCode: number,
  message: string,
): FastifyReply {
  reply.code(statusCode);
  if (provider === 'admin') {
    return reply.type('text/plain; charset=utf-8').send(message);
  }
  return reply.type('application/json; charset=utf-8').send({ error: message });
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    return typeof error.statusCode === 'number' ? error.statusCode : undefined;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The request body as an object; a request without a body counts as `{}`. */
function bodyOf(request: FastifyRequest, notObjectMessage: string): Record<string, unknown> {
  const body = request.body ?? {};
  if (!isRecord(body)) {
    throw new HttpError(422, notObjectMessage);
  }
  return body;
}

function characterCount(value: string): number {
  return Array.from(value).length;
}

interface EmailMessages {
  emailMissing: string;
  emailTooLong: string;
  emailInvalid: string;
}

/** Validates an email and returns it normalized (trimmed, lower-cased). */
function parseEmail(value: unknown, messages: EmailMessages): string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    throw new HttpError(422, messages.emailMissing);
  }
  if (typeof value !== 'string') {
    throw new HttpError(422, messages.emailInvalid);
  }
  const trimmed = value.trim();
  if (characterCount(trimmed) > MAX_CHARACTERS) {
    throw new HttpError(422, messages.emailTooLong);
  }
  if (!EMAIL_PATTERN.test(trimmed)) {
    throw new HttpError(422, messages.emailInvalid);
  }
  return trimmed.toLowerCase();
}

function normalizeEmail(value: string): string {
  return value.trim().toLowerCase();
}

/** An optional free-text field: trimmed, `null` when absent or blank. */
function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'string') {
    throw new HttpError(422, `${field} must be a string`);
  }
  const trimmed = value.trim();
  if (characterCount(trimmed) > MAX_CHARACTERS) {
    throw new HttpError(422, `${field} must be no more than ${MAX_CHARACTERS} characters`);
  }
  return trimmed === '' ? null : trimmed;
}

/** A role name configured on the site, or `null` (empty, missing or null: the Default Role). */
function parseRole(value: unknown, roles: ReadonlySet<string>): string | null {
  const role = optionalText(value, 'role');
  if (role !== null && !roles.has(role)) {
    throw new HttpError(422, `Role "${role}" is not configured on this site`);
  }
  return role;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function secretMatches(candidate: string, expected: string): boolean {
  return timingSafeEqual(hashSecret(candidate), hashSecret(expected));
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The credential the request presents for its provider ('' when it presents none). */
function credentialOf(request: FastifyRequest, provider: Provider): string {
  if (provider === 'dealai') {
    return (firstHeader(request.headers['deal-ai-api-key']) ?? '').trim();
  }
  return (request.headers.authorization ?? '').trim();
}

function authenticate(
  request: FastifyRequest,
  provider: Provider,
  secrets: Record<Provider, string>,
): HttpError | undefined {
  const texts = TEXTS[provider];
  const credential = credentialOf(request, provider);
  if (credential === '') {
    return new HttpError(401, texts.missingCredential);
  }
  const presented = provider === 'admin' ? /^Bearer\s+(\S+)$/i.exec(credential)?.[1] : credential;
  if (presented === undefined || !secretMatches(presented, secrets[provider])) {
    return new HttpError(403, texts.invalidCredential);
  }
  return undefined;
}

function parseJsonBody(raw: string): unknown {
  if (raw.trim() === '') {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed;
  } catch {
    throw new MalformedJsonError();
  }
}

/** The `email` query values (`?email=a&email=b`), normalized; `undefined` when there are none. */
function queryEmails(query: unknown): string[] | undefined {
  if (!isRecord(query)) {
    return undefined;
  }
  const value = query.email;
  if (typeof value === 'string') {
    return [normalizeEmail(value)];
  }
  if (Array.isArray(value)) {
    return value.filter((item) => typeof item === 'string').map(normalizeEmail);
  }
  return undefined;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Epoch milliseconds of an ISO 8601 date or date-time; NaN when it is not one. A missing offset
 * means UTC. The hour may have one digit, as in the API's own example ("2025-12-25T9:00:00-06:00").
 */
function parseIsoDateTime(text: string): number {
  const match = ISO_DATE_TIME.exec(text.trim());
  if (match === null) {
    return Number.NaN;
  }
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0', zone] = match;
  const parts = [year, month, day, hour, minute, second].map(Number);
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = parts;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, Math.floor(Number(`0.${fraction}`) * 1000));
  const date = new Date(utc);
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return Number.NaN;
  }
  return utc - offsetMinutes(zone) * 60_000;
}

function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') {
    return 0;
  }
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return zone.startsWith('-') ? -minutes : minutes;
}

/** An hour of the report as the API writes datetimes: "2025-12-25T15:00:00+00:00". */
function isoHour(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', '+00:00');
}

/** One query value; a repeated key (an array) is refused as invalid. */
function singleParam(value: unknown, missing: string, invalid: string): string {
  if (value === undefined) {
    throw new HttpError(422, missing);
  }
  if (typeof value !== 'string') {
    throw new HttpError(422, invalid);
  }
  return value;
}

function dateTimeParam(value: unknown, missing: string, invalid: string): number {
  const text = singleParam(value, missing, invalid);
  if (text.trim() === '') {
    throw new HttpError(422, missing);
  }
  const epoch = parseIsoDateTime(text);
  if (Number.isNaN(epoch)) {
    throw new HttpError(422, invalid);
  }
  return epoch;
}

/** Values of a repeatable query key: `?service=a&service=b`. */
function repeatedParam(value: unknown): unknown[] | undefined {
  if (value === undefined) {
    return undefined;
  }
  const values: unknown[] = Array.isArray(value) ? value : [value];
  return values;
}

function isUsageService(value: unknown): value is UsageService {
  return USAGE_SERVICES.some((service) => service === value);
}

function usageAnswer(row: UsageRow) {
  return {
    email: row.email,
    from: isoHour(row.from),
    to: isoHour(row.to),
    service: row.service,
    result: row.result,
    calls: row.calls,
    credits: row.credits,
    meanSecs: row.meanSecs,
  };
}

function nonNegativeInteger(value: unknown, message: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HttpError(422, message);
  }
  return value;
}

interface AppSettings {
  store: SandboxStore;
  secrets: Record<Provider, string>;
  roles: ReadonlySet<string>;
  rateLimit: { max: number; windowMs: number };
  logger: boolean;
  now: () => number;
  record: ((exchange: Exchange) => void) | undefined;
}

function textOf(payload: unknown): string {
  if (typeof payload === 'string') {
    return payload;
  }
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
}

function headerText(value: string | number | string[] | undefined): string | string[] | undefined {
  return typeof value === 'number' ? String(value) : value;
}

/** Hands every exchange, answered by a route or by an error, to `record` as it is sent. */
function recordExchanges(app: FastifyInstance, record: (exchange: Exchange) => void): void {
  const bodies = new WeakMap<FastifyRequest, Buffer>();
  // The body is read before authentication, which may answer without ever reading it, and then
  // handed to the body parser as if it came from the socket.
  app.addHook('onRequest', async (request) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request.raw) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    }
    bodies.set(request, Buffer.concat(chunks));
  });
  app.addHook('preParsing', (request, _reply, _payload, done) => {
    done(null, Readable.from(bodies.get(request) ?? Buffer.alloc(0), { objectMode: false }));
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const mark = request.url.indexOf('?');
    const responseHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      const text = headerText(value);
      if (text !== undefined) {
        responseHeaders[name] = text;
      }
    }
    const contentType = headerText(reply.getHeader('content-type'));
    record({
      method: request.method,
      path: mark < 0 ? request.url : request.url.slice(0, mark),
      query: mark < 0 ? '' : request.url.slice(mark + 1),
      headers: { ...request.headers },
      body: (bodies.get(request) ?? Buffer.alloc(0)).toString('utf8'),
      status: reply.statusCode,
      contentType: Array.isArray(contentType) ? contentType.join(', ') : contentType,
      responseHeaders,
      responseBody: textOf(payload),
    });
    done(null, payload);
  });
}

async function buildApp(
  settings: AppSettings,
): Promise<{ app: FastifyInstance; zapier: Omit<ZapierSide, 'rpcUrl' | 'logUrl'> }> {
  const { store, secrets, roles } = settings;
  const app = Fastify({ logger: settings.logger });
  if (settings.record !== undefined) {
    recordExchanges(app, settings.record);
  }

  // Every body is parsed as JSON here, whatever its content type, so that malformed JSON gets the
  // provider's own 400 (not Fastify's) and DELETE/PATCH bodies work; an empty body is no body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', '*'],
    { parseAs: 'string' },
    (_request, raw, done) => {
      try {
        done(null, parseJsonBody(typeof raw === 'string' ? raw : raw.toString('utf8')));
      } catch (error) {
        done(error instanceof Error ? error : new MalformedJsonError());
      }
    },
  );

  app.setErrorHandler((error: unknown, request, reply) => {
    if (isZapierPath(request.url)) {
      const statusCode = statusCodeOf(error) ?? 500;
      if (statusCode >= 500) {
        request.log.error({ err: error }, 'sandbox request failed');
      }
      return reply.code(statusCode).send({ error: messageOf(error) });
    }
    const provider = providerOf(request.url);
    const texts = TEXTS[provider];
    if (error instanceof HttpError) {
      return sendError(reply, provider, error.statusCode, error.message);
    }
    if (error instanceof MalformedJsonError) {
      return sendError(reply, provider, 400, texts.malformed);
    }
    if (error instanceof RateLimitedError) {
      return sendError(reply, provider, 429, texts.rateLimited(error.retryAfterSeconds));
    }
    const statusCode = statusCodeOf(error);
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      // Fastify's own client errors (e.g. 413 body too large), in the provider's shape.
      return sendError(
        reply,
        provider,
        statusCode,
        statusCode === 400 ? texts.malformed : messageOf(error),
      );
    }
    request.log.error({ err: error }, 'sandbox request failed');
    return sendError(reply, provider, 500, texts.unknown);
  });

  // A path that is no route answers as a web framework's router does, before authentication and
  // whatever the key: 404 with its JSON. A wrong Base URL (or a mistyped path) shows as that, not
  // as a rejected key, and the integration's checks (src/client.ts) can tell it from the API's
  // own 404 (text/plain on the Administration API; behind a key check on Deal.ai).
  app.setNotFoundHandler((request, reply) => {
    if (isZapierPath(request.url)) {
      return reply.code(404).send({ error: `Only ${RPC_PATH} and ${LOG_PATH} are here` });
    }
    return reply.code(404).type('application/json; charset=utf-8').send(ROUTER_NOT_FOUND);
  });

  // Authentication runs before the rate limiter's route hooks, so only valid credentials count.
  // The Zapier side checks its own tokens (./zapier); an unknown path is not authenticated.
  app.addHook('onRequest', (request, _reply, done) => {
    done(
      isZapierPath(request.url) || request.is404
        ? undefined
        : authenticate(request, providerOf(request.url), secrets),
    );
  });

  // The plugin sets Retry-After (whole seconds) on the 429 itself; the error handler gives the body
  // each provider's shape.
  await app.register(rateLimit, {
    global: true,
    max: settings.rateLimit.max,
    timeWindow: settings.rateLimit.windowMs,
    keyGenerator: (request) => {
      const provider = providerOf(request.url);
      return `${provider}:${credentialOf(request, provider)}`;
    },
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
  });

  // ---------------------------------------------------------------- Deal.ai white label

  app.post(`${DEALAI_PREFIX}/users`, (request) => {
    const body = bodyOf(request, DEALAI.notObject);
    const first = optionalText(body.firstName, 'firstName');
    if (first === null) {
      throw new HttpError(422, DEALAI.firstNameMissing);
    }
    const email = parseEmail(body.email, DEALAI);
    const lastName = optionalText(body.lastName, 'lastName');
    const { password } = body;
    if (password !== undefined && password !== null && typeof password !== 'string') {
      throw new HttpError(422, 'password must be a string');
    }
    const invite = body.sendInviteEmail ?? 'no';
    if (invite !== 'yes' && invite !== 'no') {
      throw new HttpError(422, DEALAI.sendInviteEmail);
    }
    const role = parseRole(body.role, roles);
    const user = store.addDealaiUser({
      email,
      firstName: first,
      lastName,
      role,
      passwordSource: typeof password === 'string' && password !== '' ? 'provided' : 'generated',
      inviteSent: invite === 'yes',
    });
    if (user === undefined) {
      throw new HttpError(409, DEALAI.conflict);
    }
    return {
      message: 'User added',
      email: user.email,
      firstName: user.firstName,
      lastName: user.lastName,
      role: user.role,
    };
  });

  app.delete(`${DEALAI_PREFIX}/users`, (request) => {
    const body = bodyOf(request, DEALAI.notObject);
    const email = parseEmail(body.email, DEALAI);
    const user = store.removeDealaiUser(email);
    if (user === undefined) {
      throw new HttpError(404, DEALAI.notFound);
    }
    return { message: 'User removed', email: user.email };
  });

  app.patch(`${DEALAI_PREFIX}/users/role`, (request) => {
    const body = bodyOf(request, DEALAI.notObject);
    const email = parseEmail(body.email, DEALAI);
    const role = parseRole(body.role, roles);
    const user = store.setDealaiRole(email, role);
    if (user === undefined) {
      throw new HttpError(404, DEALAI.notFound);
    }
    return { message: 'Role updated', email: user.email, role: user.role };
  });

  // ------------------------------------------------------ Agent First-style administration

  app.post('/users', (request, reply) => {
    const body = bodyOf(request, ADMIN.notObject);
    const email = parseEmail(body.email, ADMIN);
    const credits = body.credits ?? 0;
    if (typeof credits !== 'number' || !Number.isSafeInteger(credits) || credits < 0) {
      throw new HttpError(422, ADMIN.credits);
    }
    const token = `a1-${randomBytes(24).toString('base64url')}`;
    const account = store.createAdminAccount(email, hashSecret(token).toString('hex'), credits);
    if (account === undefined) {
      throw new HttpError(409, ADMIN.conflict);
    }
    reply.code(201);
    return { email: account.email, token, credits: account.credits };
  });

  app.get('/users', (request) => {
    return store.listAdminAccounts(queryEmails(request.query));
  });

  app.patch('/users', (request) => {
    const body = bodyOf(request, ADMIN.notObject);
    const email = parseEmail(body.email, ADMIN);
    const { amount } = body;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) {
      throw new HttpError(422, ADMIN.amount);
    }
    const result = store.grantAdminCredits(email, amount);
    switch (result.status) {
      case 'granted':
        return result.account;
      case 'not-found':
        throw new HttpError(404, ADMIN.notFound);
      case 'overflow':
        throw new HttpError(422, ADMIN.overflow);
    }
  });

  app.delete('/users', (request) => {
    const body = bodyOf(request, ADMIN.notObject);
    const email = parseEmail(body.email, ADMIN);
    const account = store.deactivateAdminAccount(email);
    if (account === undefined) {
      throw new HttpError(404, ADMIN.notFound);
    }
    return account;
  });

  app.get('/user', () => [store.owner()]);

  app.get('/usage', (request) => {
    const query = isRecord(request.query) ? request.query : {};
    const from = dateTimeParam(query.from, USAGE.fromMissing, USAGE.fromInvalid);
    const to = dateTimeParam(query.to, USAGE.toMissing, USAGE.toInvalid);
    if (to < from) {
      throw new HttpError(422, USAGE.toBeforeFrom);
    }
    const emails = repeatedParam(query.email)?.map((email) => parseEmail(email, ADMIN));
    const services = repeatedParam(query.service)?.map((service) => {
      if (!isUsageService(service)) {
        throw new HttpError(422, USAGE.service);
      }
      return service;
    });
    const by = query.by ?? 'total';
    if (by !== 'hour' && by !== 'total') {
      throw new HttpError(422, USAGE.by);
    }
    return store.usage({ from, to, emails, services, by }).map(usageAnswer);
  });

  // ------------------------------------------------------------- sandbox only (not in any API)

  app.post(`${SANDBOX_ONLY_PREFIX}/consume`, (request) => {
    const body = bodyOf(request, ADMIN.notObject);
    const email = parseEmail(body.email, ADMIN);
    if (!isUsageService(body.service)) {
      throw new HttpError(422, USAGE.service);
    }
    const credits = nonNegativeInteger(body.credits, ADMIN.credits);
    const calls = body.calls ?? 1;
    if (typeof calls !== 'number' || !Number.isSafeInteger(calls) || calls < 1) {
      throw new HttpError(422, SANDBOX_ONLY.calls);
    }
    const failed = body.failed ?? false;
    if (typeof failed !== 'boolean') {
      throw new HttpError(422, SANDBOX_ONLY.failed);
    }
    const secs = body.secs ?? 1;
    if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0) {
      throw new HttpError(422, SANDBOX_ONLY.secs);
    }
    const at =
      body.at === undefined ? Date.now() : dateTimeParam(body.at, SANDBOX_ONLY.at, SANDBOX_ONLY.at);
    const result = store.consume({
      email,
      service: body.service,
      credits,
      calls,
      failed,
      secs,
      at: new Date(at),
    });
    switch (result.status) {
      case 'consumed':
        return {
          email: result.account.email,
          credits: result.account.credits,
          consumed: credits,
          calls,
          service: body.service,
          result: failed ? 'failure' : 'success',
          hour: isoHour(result.hour),
        };
      case 'not-found':
        throw new HttpError(404, ADMIN.notFound);
      case 'insufficient':
        throw new HttpError(402, SANDBOX_ONLY.insufficient(result.credits));
    }
  });

  app.post(`${SANDBOX_ONLY_PREFIX}/accounts`, (request, reply) => {
    const body = bodyOf(request, ADMIN.notObject);
    if (!Array.isArray(body.accounts)) {
      throw new HttpError(422, SANDBOX_ONLY.accounts);
    }
    const accounts: AdminAccount[] = body.accounts.map((item: unknown) => {
      if (!isRecord(item)) {
        throw new HttpError(422, SANDBOX_ONLY.accounts);
      }
      return {
        email: parseEmail(item.email, ADMIN),
        credits: nonNegativeInteger(item.credits ?? 0, ADMIN.credits),
      };
    });
    reply.code(201);
    return { created: store.seedAdminAccounts(accounts) };
  });

  const zapier = await registerZapier(app, store, settings.now);
  return { app, zapier };
}

function formatUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Starts the sandbox and resolves once it listens. */
/**
 * POSTs straight to a running sandbox as its owner (the admin token): an account to seed
 * (`/users`) or a sandbox-only control (`/sandbox/consume`, `/sandbox/accounts`), for the story,
 * the bench and the tests. Returns the JSON answer; throws with the status and text otherwise.
 */
export async function postAsOwner(
  sandbox: Pick<Sandbox, 'adminBaseUrl'>,
  route: string,
  body: object,
): Promise<unknown> {
  const response = await fetch(`${sandbox.adminBaseUrl}${route}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`POST ${route} answered ${String(response.status)}: ${text}`);
  }
  const answer: unknown = text === '' ? undefined : JSON.parse(text);
  return answer;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const store = new SandboxStore({
    path: options.dbPath ?? ':memory:',
    ownerEmail: SANDBOX_OWNER_EMAIL,
  });
  let app: FastifyInstance | undefined;
  let zapier: Omit<ZapierSide, 'rpcUrl' | 'logUrl'>;
  let count = 0;
  let exchanges: Exchange[] = [];
  try {
    ({ app, zapier } = await buildApp({
      store,
      secrets: {
        dealai: SANDBOX_DEALAI_KEY,
        admin: SANDBOX_ADMIN_TOKEN,
      },
      roles: new Set(DEFAULT_ROLES),
      rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
      logger: options.logger ?? false,
      now: options.now ?? Date.now,
      record:
        options.record === true
          ? (exchange) => {
              exchanges.push(exchange);
            }
          : undefined,
    }));
    app.server.on('request', (request: { url?: string }) => {
      const url = request.url ?? '';
      if (!isZapierPath(url) && !url.startsWith(`${SANDBOX_ONLY_PREFIX}/`)) {
        count += 1;
      }
    });
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await app?.close();
    store.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    store.close();
    throw new Error('The sandbox is not listening on a TCP port');
  }
  const url = formatUrl(address);
  const running = app;
  let closing: Promise<void> | undefined;
  return {
    url,
    dealaiBaseUrl: `${url}${DEALAI_PREFIX}`,
    adminBaseUrl: url,
    requestCount: () => count,
    resetRequestCount: () => {
      count = 0;
    },
    zapier: { ...zapier, rpcUrl: `${url}${RPC_PATH}`, logUrl: `${url}${LOG_PATH}` },
    takeExchanges: () => {
      if (options.record !== true) {
        throw new Error('The sandbox records exchanges only when started with record: true');
      }
      const taken = exchanges;
      exchanges = [];
      return taken;
    },
    dealaiUser: (email) => store.getDealaiUser(email.trim().toLowerCase()),
    close: () => {
      closing ??= running.close().then(() => {
        store.close();
      });
      return closing;
    },
  };
}
