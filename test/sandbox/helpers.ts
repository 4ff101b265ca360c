/** Shared helpers for the sandbox tests: plain `fetch` against a sandbox started in-process. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SANDBOX_ADMIN_TOKEN, SANDBOX_DEALAI_KEY, startSandbox } from '../../tools/sandbox/server';
import type { Sandbox, SandboxOptions } from '../../tools/sandbox/server';

export const DEALAI_AUTH = { 'Deal-AI-API-Key': SANDBOX_DEALAI_KEY };
export const ADMIN_AUTH = { Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN}` };

export interface ApiResponse {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json: () => unknown;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent verbatim (with a JSON content type), for malformed bodies. */
  rawBody?: string;
}

export async function call(
  baseUrl: string,
  method: string,
  route: string,
  options: CallOptions = {},
): Promise<ApiResponse> {
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (hasBody) {
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers,
    body:
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    contentType: response.headers.get('content-type') ?? '',
    text,
    json: () => {
      const parsed: unknown = JSON.parse(text);
      return parsed;
    },
  };
}

/** Reads `key` of a JSON object response and insists it is a string. */
export function stringField(value: unknown, key: string): string {
  if (typeof value !== 'object' || value === null || !(key in value)) {
    throw new Error(`Expected an object with "${key}", got ${JSON.stringify(value)}`);
  }
  const field: unknown = Reflect.get(value, key);
  if (typeof field !== 'string') {
    throw new Error(`Expected "${key}" to be a string, got ${JSON.stringify(field)}`);
  }
  return field;
}

/** A fresh temporary directory for a file database; removed by {@link removeTempDir}. */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wl-sandbox-'));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Starts an in-memory sandbox on a free port (rate limit high enough never to interfere). */
export function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ rateLimit: { max: 100_000, windowMs: 60_000 }, ...options });
}

/** `count` characters, each of them several bytes in UTF-8 (and two UTF-16 units for emoji). */
export function multiByteEmail(count: number): string {
  const domain = '@example.com';
  const localLength = count - domain.length;
  // Alternate a 2-byte letter and a 4-byte emoji so both UTF-8 and UTF-16 lengths exceed `count`.
  const local = Array.from({ length: localLength }, (_, index) => (index % 2 === 0 ? 'é' : '😀'));
  return `${local.join('')}${domain}`;
}
