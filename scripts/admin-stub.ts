/**
 * A tiny stand-in for the Administration API (docs/api.md) on 127.0.0.1, for the build.zip smoke
 * test: `GET /user` and `POST /users`, nothing else. It records every request so the test can
 * check exactly what the zipped app sent. (The sandbox would do, but it records no requests.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const STUB_API_KEY = 'stub-admin-token';
export const STUB_OWNER = { email: 'owner@example.com', credits: 5 } as const;

export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface AdminStub {
  baseUrl: string;
  requests: SeenRequest[];
  close: () => Promise<void>;
}

const reply = (
  response: http.ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
): void => {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
};

const readEmail = (body: string): { email: string; credits: number } | undefined => {
  try {
    const data: unknown = JSON.parse(body);
    if (typeof data === 'object' && data !== null && 'email' in data) {
      const email = typeof data.email === 'string' ? data.email.toLowerCase() : '';
      const credits = 'credits' in data && typeof data.credits === 'number' ? data.credits : 0;
      return email === '' ? undefined : { email, credits };
    }
  } catch {
    return undefined;
  }
  return undefined;
};

export const startAdminStub = (): Promise<AdminStub> => {
  const requests: SeenRequest[] = [];
  let tokens = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (request.url ?? '').split('?')[0] ?? '';
      const method = request.method ?? '';
      requests.push({
        method,
        path,
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body,
      });
      if (request.headers.authorization !== `Bearer ${STUB_API_KEY}`) {
        reply(response, 403, 'Valid API token must be provided', 'text/plain');
      } else if (method === 'GET' && path === '/user') {
        reply(response, 200, [STUB_OWNER]);
      } else if (method === 'POST' && path === '/users') {
        const account = readEmail(body);
        if (account === undefined) {
          reply(response, 422, 'Email must be provided', 'text/plain');
        } else {
          tokens += 1;
          reply(response, 201, { ...account, token: `stub-token-${tokens}` });
        }
      } else {
        reply(response, 404, 'Route is nonexistent', 'text/plain');
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address: AddressInfo | string | null = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('the admin stub is not listening on a TCP port'));
        return;
      }
      resolve({
        baseUrl: `http://127.0.0.1:${address.port}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
};
