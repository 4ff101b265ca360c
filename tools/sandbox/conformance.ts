/**
 * Checks what passed between the integration and the sandbox against the two APIs' OpenAPI
 * documents in docs/: each request (route, credential header, query, content type, body) and each
 * answer (a declared status, a declared content type, the body's schema, declared headers).
 * openapi-backend routes an exchange to its operation and validates it with JSON Schema (Ajv); the
 * few lines here only read the document for what that library leaves to its user: credentials,
 * declared statuses and media types.
 *
 * Used by the end-to-end tests (test/e2e/setup.ts) and by the story (tools/story.ts).
 */
import addFormats from 'ajv-formats';
import OpenAPIBackend, { SetMatchType } from 'openapi-backend';
import type { Document, Operation, Request, ValidationResult } from 'openapi-backend';

import adminDocument from '../../docs/agentfirst-admin.openapi.json';
import dealaiDocument from '../../docs/dealai-whitelabel.openapi.json';
import type { Exchange } from './server';
import { isRecord } from '../project';

/**
 * Path prefixes of the routes the sandbox serves that belong to neither vendor API: `/zapier/` for
 * what Zapier's runtime calls (the z.cache RPC endpoint and the log sink) and `/sandbox/` for what
 * tests call to change the sandbox's state (consuming credits, say). Their exchanges are counted
 * as skipped, not checked.
 */
const NON_API_ROUTES: readonly string[] = ['/zapier/', '/sandbox/'];

/**
 * Requests the integration sends outside the document on purpose, each with the reason. Deal.ai
 * has no read route, so the connection test asks it to change the role of nobody: PATCH
 * /users/role with `{}` cannot change anything, yet the API must check the key before it refuses
 * the body (src/authentication.ts). Only that body's schema is waived; the route, the key header
 * and the answer are checked like any other.
 */
const DELIBERATE: readonly { document: string; operation: string; body: string }[] = [
  { document: 'dealai-whitelabel', operation: 'PATCH /users/role', body: '{}' },
];

/** How often each operation × declared status of each document was seen, and what was counted. */
export interface Tally {
  checked: number;
  skipped: number;
  deliberate: number;
  violations: Record<Violation['side'], number>;
  /** `document|METHOD /path|status key` → exchanges; every declared pair is present, maybe 0. */
  pairs: Record<string, number>;
}

/** One way an exchange breaks its document. */
export interface Violation {
  /** Which exchange: `#3 POST /users → 201 application/json (agentfirst-admin POST /users)`. */
  exchange: string;
  /** Whose fault: the request (the integration's) or the answer (the sandbox's). */
  side: 'request' | 'answer';
  message: string;
}

export interface Conformance {
  /** Checks the exchanges and tallies them; no violation means they all conform. */
  check: (exchanges: readonly Exchange[]) => Violation[];
  tally: () => Tally;
}

export const formatViolation = (violation: Violation): string =>
  `${violation.exchange}: ${violation.message}`;

interface Api {
  name: string;
  /** The server URL's path: where the sandbox serves this API. */
  root: string;
  backend: OpenAPIBackend;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const operationName = (method: string, path: string): string => `${method.toUpperCase()} ${path}`;

const isDocument = (value: unknown): value is Document =>
  isRecord(value) && typeof value.openapi === 'string' && isRecord(value.paths);

/**
 * The document as openapi-backend takes it: a copy where every operation has an operationId (the
 * vendor's excerpt has none, and the library keys its compiled validators by it), named after its
 * method and path.
 */
const prepare = (source: unknown): Document => {
  const document: unknown = structuredClone(source);
  const paths = isRecord(document) ? document.paths : undefined;
  for (const [path, item] of Object.entries(isRecord(paths) ? paths : {})) {
    for (const method of METHODS) {
      const operation = isRecord(item) ? item[method] : undefined;
      if (isRecord(operation) && operation.operationId === undefined) {
        operation.operationId = operationName(method, path);
      }
    }
  }
  if (!isDocument(document)) {
    throw new Error('not an OpenAPI document');
  }
  return document;
};

const serverPath = (document: Document): string => {
  const url = document.servers?.[0]?.url;
  return url === undefined ? '/' : new URL(url).pathname.replace(/\/+$/, '') || '/';
};

const loadApi = async (name: string, source: unknown): Promise<Api> => {
  const definition = prepare(source);
  const root = serverPath(definition);
  const backend = new OpenAPIBackend({
    definition,
    apiRoot: root,
    // Each operation's validators are compiled the first time an exchange needs them, then kept:
    // compiling both documents up front costs about a second in every end-to-end test file, which
    // meets only a few operations. `quick` also skips the library's check of the document itself,
    // made against the OpenAPI 3.0 schema (the vendor's 3.1 document gives two schemas a
    // `summary`, which 3.0 does not know); test/sandbox/conformance.test.ts runs it on ours.
    quick: true,
    // The documents declare `format: email` and `date-time`; Ajv checks formats only when given them.
    customizeAjv: (ajv) => {
      addFormats(ajv);
      return ajv;
    },
  });
  await backend.init();
  return { name, root, backend };
};

/** One line per Ajv error: where, and what. */
const describeErrors = (where: string, errors: ValidationResult['errors']): string[] =>
  (errors ?? []).map((error) => {
    const extra = isRecord(error.params) ? error.params.additionalProperty : undefined;
    const field = typeof extra === 'string' ? ` (${extra})` : '';
    return `${where}${error.instancePath} ${error.message ?? error.keyword}${field}`;
  });

const mediaTypeOf = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** Whether `mediaType` is one the content map declares (`*\/*` and `type/*` included). */
const declares = (content: Record<string, unknown>, mediaType: string): boolean => {
  const [type] = mediaType.split('/');
  return Object.keys(content).some((range) => {
    const declared = range.toLowerCase();
    return declared === mediaType || declared === '*/*' || declared === `${type ?? ''}/*`;
  });
};

const isJson = (mediaType: string): boolean =>
  mediaType === 'application/json' || mediaType.endsWith('+json');

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
};

const headerOf = (headers: Request['headers'], name: string): string => {
  const value = headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) ?? '';
};

/** The credential problems of a request: none when one of the operation's requirements is met. */
const credentialProblems = (api: Api, operation: Operation, headers: Request['headers']) => {
  const schemes = api.backend.definition.components?.securitySchemes ?? {};
  const requirements = operation.security ?? [];
  const missing = requirements.map((requirement) =>
    Object.keys(requirement).flatMap((name) => {
      const scheme = schemes[name];
      if (scheme === undefined || '$ref' in scheme) {
        return [`security scheme ${name} is not declared`];
      }
      if (scheme.type === 'http' && scheme.scheme.toLowerCase() === 'bearer') {
        return /^Bearer\s+\S+$/i.test(headerOf(headers, 'authorization'))
          ? []
          : [`request header Authorization: Bearer <token> is missing (${name})`];
      }
      if (scheme.type === 'apiKey' && scheme.in === 'header') {
        return headerOf(headers, scheme.name).trim() === ''
          ? [`request header ${scheme.name} is missing (${name})`]
          : [];
      }
      return [`security scheme ${name} (${scheme.type}) is not checked here`];
    }),
  );
  return requirements.length === 0 || missing.some((problems) => problems.length === 0)
    ? []
    : (missing[0] ?? []);
};

/** The declared response for a status: exact code, then its class (`4XX`), then `default`. */
const responseKeyFor = (operation: Operation, status: number): string | undefined => {
  const responses = operation.responses ?? {};
  return [String(status), `${String(Math.floor(status / 100))}XX`, 'default'].find(
    (key) => responses[key] !== undefined,
  );
};

const requestOf = (exchange: Exchange): Request => {
  const headers: Request['headers'] = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  const parsed = parseJson(exchange.body);
  return {
    method: exchange.method.toLowerCase(),
    path: exchange.path,
    query: exchange.query,
    headers,
    body: exchange.body === '' ? undefined : parsed.ok ? parsed.value : exchange.body,
  };
};

const isDeliberate = (api: Api, operation: Operation, exchange: Exchange): boolean =>
  DELIBERATE.some(
    (known) =>
      known.document === api.name &&
      known.operation === operationName(operation.method, operation.path) &&
      known.body === exchange.body,
  );

const requestProblems = (api: Api, operation: Operation, exchange: Exchange): string[] => {
  const request = requestOf(exchange);
  const waived = isDeliberate(api, operation, exchange);
  const errors = api.backend.validateRequest(request, operation).errors ?? [];
  const problems = describeErrors(
    'request',
    errors.filter((error) => !waived || !error.instancePath.startsWith('/requestBody')),
  );
  problems.push(...credentialProblems(api, operation, request.headers));
  if (exchange.body !== '') {
    const content =
      operation.requestBody !== undefined && !('$ref' in operation.requestBody)
        ? operation.requestBody.content
        : undefined;
    const mediaType = mediaTypeOf(headerOf(request.headers, 'content-type'));
    if (content === undefined) {
      problems.push('request has a body, but the operation takes none');
    } else if (!declares(content, mediaType)) {
      problems.push(`request Content-Type ${mediaType || '(none)'} is not declared`);
    }
  }
  return problems;
};

const responseProblems = (api: Api, operation: Operation, exchange: Exchange, key: string) => {
  const declared = operation.responses?.[key];
  if (declared === undefined || '$ref' in declared || declared.content === undefined) {
    // A response without content documents no body: there is nothing more to check.
    return [];
  }
  const mediaType = mediaTypeOf(exchange.contentType);
  if (!declares(declared.content, mediaType)) {
    return [
      `answer Content-Type ${mediaType || '(none)'} is not declared for ${key} (${Object.keys(declared.content).join(', ')})`,
    ];
  }
  // Compiling header validators is not free, and neither document declares a response header yet.
  const problems =
    declared.headers === undefined
      ? []
      : describeErrors(
          'answer headers',
          api.backend.validateResponseHeaders(exchange.responseHeaders, operation, {
            statusCode: exchange.status,
            setMatchType: SetMatchType.Superset,
          }).errors,
        );
  if (isJson(mediaType)) {
    const body = parseJson(exchange.responseBody);
    if (!body.ok) {
      return [...problems, 'answer body is not JSON'];
    }
    const validation = api.backend.validateResponse(body.value, operation, exchange.status);
    problems.push(...describeErrors('answer body', validation.errors));
  }
  return problems;
};

/** Loads both documents and compiles their validators, once for all the exchanges to check. */
export const createConformance = async (): Promise<Conformance> => {
  const apis = await Promise.all([
    loadApi('agentfirst-admin', adminDocument),
    loadApi('dealai-whitelabel', dealaiDocument),
  ]);
  const pairs: Record<string, number> = {};
  for (const api of apis) {
    for (const operation of api.backend.router.getOperations()) {
      for (const key of Object.keys(operation.responses ?? {})) {
        pairs[`${api.name}|${operationName(operation.method, operation.path)}|${key}`] = 0;
      }
    }
  }
  const tally: Tally = {
    checked: 0,
    skipped: 0,
    deliberate: 0,
    violations: { request: 0, answer: 0 },
    pairs,
  };
  let seen = 0;

  // The API whose server path is the longest prefix of the exchange's path.
  const apiFor = (path: string): Api | undefined =>
    apis
      .filter((api) => api.root === '/' || path === api.root || path.startsWith(`${api.root}/`))
      .sort((a, b) => b.root.length - a.root.length)[0];

  const checkOne = (exchange: Exchange): Violation[] => {
    seen += 1;
    const query = exchange.query === '' ? '' : `?${exchange.query}`;
    const label = `#${String(seen)} ${exchange.method} ${exchange.path}${query} → ${String(exchange.status)} ${mediaTypeOf(exchange.contentType) || '(no content type)'}`;
    if (NON_API_ROUTES.some((prefix) => exchange.path.startsWith(prefix))) {
      tally.skipped += 1;
      return [];
    }
    tally.checked += 1;
    const api = apiFor(exchange.path);
    let operation: Operation | undefined;
    try {
      operation = api?.backend.router.matchOperation(requestOf(exchange), true);
    } catch {
      operation = undefined;
    }
    if (api === undefined || operation === undefined) {
      const message = `${api?.name ?? 'no document'} has no operation ${exchange.method} ${exchange.path} (a sandbox-only route belongs in NON_API_ROUTES, tools/sandbox/conformance.ts)`;
      return [{ exchange: label, side: 'request', message }];
    }
    const name = operationName(operation.method, operation.path);
    const exchangeName = `${label} (${api.name} ${name})`;
    if (isDeliberate(api, operation, exchange)) {
      tally.deliberate += 1;
    }
    const request = requestProblems(api, operation, exchange);
    const key = responseKeyFor(operation, exchange.status);
    let answer = [`answer status ${String(exchange.status)} is not declared for ${name}`];
    if (key !== undefined) {
      const pair = `${api.name}|${name}|${key}`;
      tally.pairs[pair] = (tally.pairs[pair] ?? 0) + 1;
      answer = responseProblems(api, operation, exchange, key);
    }
    return [
      ...request.map((message) => ({ exchange: exchangeName, side: 'request' as const, message })),
      ...answer.map((message) => ({ exchange: exchangeName, side: 'answer' as const, message })),
    ];
  };

  return {
    check: (exchanges) => {
      const violations = exchanges.flatMap(checkOne);
      for (const violation of violations) {
        tally.violations[violation.side] += 1;
      }
      return violations;
    },
    tally: () => structuredClone(tally),
  };
};

/** Checks a run's exchanges at once (the story): how many were checked, and the violations. */
export const checkExchanges = async (
  exchanges: readonly Exchange[],
): Promise<{ checked: number; violations: Violation[] }> => {
  const conformance = await createConformance();
  const violations = conformance.check(exchanges);
  return { checked: conformance.tally().checked, violations };
};

/** Adds tallies up (the end-to-end test files each keep their own). */
export const mergeTallies = (tallies: readonly Tally[]): Tally => {
  const total: Tally = {
    checked: 0,
    skipped: 0,
    deliberate: 0,
    violations: { request: 0, answer: 0 },
    pairs: {},
  };
  for (const tally of tallies) {
    total.checked += tally.checked;
    total.skipped += tally.skipped;
    total.deliberate += tally.deliberate;
    total.violations.request += tally.violations.request;
    total.violations.answer += tally.violations.answer;
    for (const [pair, count] of Object.entries(tally.pairs)) {
      total.pairs[pair] = (total.pairs[pair] ?? 0) + count;
    }
  }
  return total;
};

/** The coverage as lines: per document, each operation's statuses seen (×count) and not seen. */
export const coverageLines = (tally: Tally): string[] => {
  const documents = new Map<string, Map<string, [string, number][]>>();
  for (const [pair, count] of Object.entries(tally.pairs)) {
    const [document = '', operation = '', key = ''] = pair.split('|');
    const operations = documents.get(document) ?? new Map<string, [string, number][]>();
    operations.set(operation, [...(operations.get(operation) ?? []), [key, count]]);
    documents.set(document, operations);
  }
  const lines: string[] = [];
  for (const [document, operations] of documents) {
    const all = [...operations.values()].flat();
    const seenPairs = all.filter(([, count]) => count > 0).length;
    lines.push(
      `${document}: ${String(seenPairs)} of ${String(all.length)} operation × status pairs exercised`,
    );
    const width = Math.max(...[...operations.keys()].map((operation) => operation.length));
    for (const [operation, unsorted] of operations) {
      const keys = unsorted.sort(([a], [b]) => a.localeCompare(b));
      const seenKeys = keys
        .filter(([, count]) => count > 0)
        .map(([key, count]) => `${key} ×${String(count)}`);
      const unseen = keys.filter(([, count]) => count === 0).map(([key]) => key);
      lines.push(
        `  ${operation.padEnd(width)}  ${seenKeys.join(' ') || '-'}${unseen.length > 0 ? `   not: ${unseen.join(' ')}` : ''}`,
      );
    }
  }
  return lines;
};
