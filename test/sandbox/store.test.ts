import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DEFAULT_OWNER_CREDITS, MAX_BALANCE, SandboxStore } from '../../tools/sandbox/db';
import type { DealaiUser } from '../../tools/sandbox/db';
import { startSandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, DEALAI_AUTH, call, makeTempDir, removeTempDir, stringField } from './helpers';

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

  it('stores normalized emails, the invite flag and no plain-text password or token', async () => {
    const file = path.join(dir, 'sandbox.sqlite');
    const sandbox = await startSandbox({ dbPath: file });
    let token: string;
    try {
      await call(sandbox.dealaiBaseUrl, 'POST', '/users', {
        headers: DEALAI_AUTH,
        body: {
          firstName: 'Pat',
          lastName: ' Smith ',
          email: '  Pat.Smith@Example.COM ',
          password: 'hunter2-secret',
          sendInviteEmail: 'yes',
        },
      });
      await call(sandbox.dealaiBaseUrl, 'POST', '/users', {
        headers: DEALAI_AUTH,
        body: { firstName: 'Quiet', email: 'quiet@example.com' },
      });
      const created = await call(sandbox.adminBaseUrl, 'POST', '/users', {
        headers: ADMIN_AUTH,
        body: { email: ' Pat.Smith@Example.COM' },
      });
      token = stringField(created.json(), 'token');
    } finally {
      await sandbox.close();
    }

    withDatabase(file, (db) => {
      const users = db
        .prepare(
          'SELECT email, first_name, last_name, role, password_source, invite_sent FROM dealai_users ORDER BY id',
        )
        .all();
      expect(users).toEqual([
        {
          email: 'pat.smith@example.com',
          first_name: 'Pat',
          last_name: 'Smith',
          role: null,
          password_source: 'provided',
          invite_sent: 1,
        },
        {
          email: 'quiet@example.com',
          first_name: 'Quiet',
          last_name: null,
          role: null,
          password_source: 'generated',
          invite_sent: 0,
        },
      ]);
      const accounts = db.prepare('SELECT * FROM admin_accounts').all();
      expect(accounts).toEqual([expect.objectContaining({ email: 'pat.smith@example.com' })]);
      const everything = JSON.stringify([db.prepare('SELECT * FROM dealai_users').all(), accounts]);
      expect(everything).not.toContain('hunter2-secret');
      expect(everything).not.toContain(token);
    });
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

describe('500 for unexpected failures', () => {
  it('answers 500 in each provider’s shape while the database is locked, then recovers', async () => {
    const file = path.join(dir, 'locked.sqlite');
    const sandbox = await startSandbox({ dbPath: file });
    const locker = new DatabaseSync(file);
    try {
      locker.exec('BEGIN EXCLUSIVE');
      const admin = await call(sandbox.adminBaseUrl, 'POST', '/users', {
        headers: ADMIN_AUTH,
        body: { email: 'locked@example.com' },
      });
      expect(admin.status).toBe(500);
      expect(admin.contentType).toMatch(/^text\/plain/);
      expect(admin.text).toBe('Unknown error occurred');

      const dealai = await call(sandbox.dealaiBaseUrl, 'POST', '/users', {
        headers: DEALAI_AUTH,
        body: { firstName: 'Locked', email: 'locked@example.com' },
      });
      expect(dealai.status).toBe(500);
      expect(dealai.json()).toEqual({ error: 'Internal server error' });

      locker.exec('ROLLBACK');
      const retried = await call(sandbox.adminBaseUrl, 'POST', '/users', {
        headers: ADMIN_AUTH,
        body: { email: 'locked@example.com' },
      });
      expect(retried.status).toBe(201);
    } finally {
      locker.close();
      await sandbox.close();
    }
  });
});

describe('SandboxStore', () => {
  let store: SandboxStore;

  beforeEach(() => {
    store = new SandboxStore({ ownerEmail: 'boss@example.com' });
  });

  afterEach(() => {
    store.close();
  });

  it('seeds the owner once, with the default credits', () => {
    expect(store.owner()).toEqual({ email: 'boss@example.com', credits: DEFAULT_OWNER_CREDITS });
  });

  it('keeps the owner row of an existing file instead of reseeding it', () => {
    const file = path.join(dir, 'owner.sqlite');
    const first = new SandboxStore({
      path: file,
      ownerEmail: 'first@example.com',
      ownerCredits: 5,
    });
    first.close();
    const second = new SandboxStore({ path: file, ownerEmail: 'second@example.com' });
    try {
      expect(second.owner()).toEqual({ email: 'first@example.com', credits: 5 });
    } finally {
      second.close();
    }
  });

  it('refuses a second Deal.ai user with the same email', () => {
    const user: DealaiUser = {
      email: 'dup@example.com',
      firstName: 'Dup',
      lastName: null,
      role: null,
      passwordSource: 'generated',
      inviteSent: false,
    };
    expect(store.addDealaiUser(user)).toEqual(user);
    expect(store.addDealaiUser({ ...user, firstName: 'Other' })).toBeUndefined();
    expect(store.listDealaiUsers()).toEqual([user]);
    expect(store.getDealaiUser('dup@example.com')).toEqual(user);
    expect(store.setDealaiRole('dup@example.com', 'Basic Plan')).toEqual({
      ...user,
      role: 'Basic Plan',
    });
    expect(store.setDealaiRole('missing@example.com', null)).toBeUndefined();
    expect(store.removeDealaiUser('dup@example.com')).toEqual({ ...user, role: 'Basic Plan' });
    expect(store.removeDealaiUser('dup@example.com')).toBeUndefined();
    expect(store.getDealaiUser('dup@example.com')).toBeUndefined();
  });

  it('lists admin accounts in the order asked, once each', () => {
    store.createAdminAccount('a@example.com', 'hash-a', 1);
    store.createAdminAccount('b@example.com', 'hash-b', 2);
    expect(store.createAdminAccount('a@example.com', 'hash-c', 3)).toBeUndefined();
    expect(store.listAdminAccounts()).toEqual([
      { email: 'a@example.com', credits: 1 },
      { email: 'b@example.com', credits: 2 },
    ]);
    expect(
      store.listAdminAccounts(['b@example.com', 'x@example.com', 'a@example.com', 'b@example.com']),
    ).toEqual([
      { email: 'b@example.com', credits: 2 },
      { email: 'a@example.com', credits: 1 },
    ]);
    expect(store.listAdminAccounts([])).toEqual([]);
  });

  it('grants credits atomically and refuses balances above the maximum', () => {
    store.createAdminAccount('g@example.com', 'hash', MAX_BALANCE - 10);
    expect(store.grantAdminCredits('g@example.com', 10)).toEqual({
      status: 'granted',
      account: { email: 'g@example.com', credits: MAX_BALANCE },
    });
    expect(store.grantAdminCredits('g@example.com', 1)).toEqual({
      status: 'overflow',
      credits: MAX_BALANCE,
    });
    expect(store.grantAdminCredits('none@example.com', 1)).toEqual({ status: 'not-found' });
  });

  it('deactivates accounts by deleting them', () => {
    store.createAdminAccount('d@example.com', 'hash', 7);
    expect(store.deactivateAdminAccount('d@example.com')).toEqual({
      email: 'd@example.com',
      credits: 0,
    });
    expect(store.getAdminAccount('d@example.com')).toBeUndefined();
    expect(store.deactivateAdminAccount('d@example.com')).toBeUndefined();
  });

  it('can be closed twice', () => {
    store.close();
    expect(() => {
      store.close();
    }).not.toThrow();
  });
});
