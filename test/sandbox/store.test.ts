import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startSandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, DEALAI_AUTH, call, makeTempDir, removeTempDir } from './helpers';

let dir: string;

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  removeTempDir(dir);
});

/** Reads the sandbox's file database through a second connection. */
function withDatabase<T>(file: string, read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function count(db: DatabaseSync, table: 'dealai_users' | 'admin_accounts'): unknown {
  return db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()?.n;
}

describe('persistence', () => {
  it('keeps both providers’ data across a restart on the same file', async () => {
    const file = path.join(dir, 'nested', 'sandbox.sqlite');
    const first = await startSandbox({ dbPath: file });
    await call(first.dealaiBaseUrl, 'POST', '/users', {
      headers: DEALAI_AUTH,
      body: { firstName: 'Kept', email: 'Kept@Example.com', role: 'Basic Plan' },
    });
    await call(first.adminBaseUrl, 'POST', '/users', {
      headers: ADMIN_AUTH,
      body: { email: 'Kept@Example.com', credits: 42 },
    });
    await first.close();

    const second = await startSandbox({ dbPath: file });
    try {
      const listed = await call(second.adminBaseUrl, 'GET', '/users?email=kept@example.com', {
        headers: ADMIN_AUTH,
      });
      expect(listed.json()).toEqual([{ email: 'kept@example.com', credits: 42 }]);
      const duplicate = await call(second.dealaiBaseUrl, 'POST', '/users', {
        headers: DEALAI_AUTH,
        body: { firstName: 'Again', email: 'KEPT@example.com' },
      });
      expect(duplicate.status).toBe(409);
      const role = await call(second.dealaiBaseUrl, 'PATCH', '/users/role', {
        headers: DEALAI_AUTH,
        body: { email: 'kept@example.com', role: 'Premium Plan' },
      });
      expect(role.json()).toEqual({
        message: 'Role updated',
        email: 'kept@example.com',
        role: 'Premium Plan',
      });
      const owner = await call(second.adminBaseUrl, 'GET', '/user', { headers: ADMIN_AUTH });
      expect(owner.json()).toEqual([{ email: 'owner@sandbox.test', credits: 1_000_000 }]);
    } finally {
      await second.close();
    }
  });
});

describe('no duplicates under concurrency', () => {
  const variants = (index: number): string =>
    index % 3 === 0
      ? 'race@example.com'
      : index % 3 === 1
        ? 'RACE@Example.com'
        : ` Race@EXAMPLE.COM `;

  it('creates exactly one Deal.ai user from 20 concurrent POSTs for one address', async () => {
    const file = path.join(dir, 'race.sqlite');
    const sandbox = await startSandbox({ dbPath: file });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          call(sandbox.dealaiBaseUrl, 'POST', '/users', {
            headers: DEALAI_AUTH,
            body: { firstName: `Racer ${index}`, email: variants(index) },
          }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status >= 200 && status < 300)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(19);
      withDatabase(file, (db) => {
        expect(count(db, 'dealai_users')).toBe(1);
      });
    } finally {
      await sandbox.close();
    }
  });

  it('creates exactly one admin account from 20 concurrent POSTs for one address', async () => {
    const file = path.join(dir, 'race.sqlite');
    const sandbox = await startSandbox({ dbPath: file });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          call(sandbox.adminBaseUrl, 'POST', '/users', {
            headers: ADMIN_AUTH,
            body: { email: variants(index), credits: index },
          }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(19);
      for (const response of responses.filter((r) => r.status === 409)) {
        expect(response.text).toBe('Email already exists');
      }
      const listed = await call(sandbox.adminBaseUrl, 'GET', '/users', { headers: ADMIN_AUTH });
      expect(listed.json()).toMatchObject([{ email: 'race@example.com' }]);
      withDatabase(file, (db) => {
        expect(count(db, 'admin_accounts')).toBe(1);
      });
    } finally {
      await sandbox.close();
    }
  });
});
