/**
 * SQLite store for the local sandbox, through Node's built-in `node:sqlite` (synchronous API).
 *
 * The two providers are separate tenants: Deal.ai users live in `dealai_users`, Agent First-style
 * accounts in `admin_accounts` (plus the single `admin_owner` row that `GET /user` reports).
 * Emails are stored normalized (trimmed, lower-cased) under a UNIQUE constraint, and every insert is
 * an `INSERT ... ON CONFLICT DO NOTHING`, so two requests for the same address can never create two
 * rows: the loser gets `undefined` back and the server answers 409.
 *
 * The Zapier side (./zapier) keeps its tokens in `zapier_tokens` and the integration's cache
 * (`z.cache`) in `zcache`, one row per partition and key, with an optional expiry time.
 */
import './quiet-sqlite.cjs';

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';

/** The highest balance an account may hold (credits are read back as JavaScript numbers). */
export const MAX_BALANCE = Number.MAX_SAFE_INTEGER;

const DEFAULT_OWNER_CREDITS = 1_000_000;

type PasswordSource = 'provided' | 'generated';

export interface DealaiUser {
  email: string;
  firstName: string;
  lastName: string | null;
  role: string | null;
  passwordSource: PasswordSource;
  inviteSent: boolean;
}

export interface AdminAccount {
  email: string;
  credits: number;
}

export type NewDealaiUser = DealaiUser;

/** Whom a Zapier token stands for: one Zapier account using one connection. */
export interface ZapierIdentity {
  account: string;
  connection: string;
}

export type GrantResult =
  | { status: 'granted'; account: AdminAccount }
  | { status: 'not-found' }
  | { status: 'overflow'; credits: number };

/** The services the usage report knows (the OpenAPI document's `Service` enum). */
export const USAGE_SERVICES = ['search', 'browser'] as const;
export type UsageService = (typeof USAGE_SERVICES)[number];
type UsageResult = 'success' | 'failure';

/** Calls made by an account, as the sandbox-only consume route records them. */
export interface Consumption {
  email: string;
  service: UsageService;
  credits: number;
  calls: number;
  failed: boolean;
  /** Mean seconds per call. */
  secs: number;
  /** When the calls were made (they count in this hour). */
  at: Date;
}

export type ConsumeResult =
  | { status: 'consumed'; account: AdminAccount; hour: number }
  | { status: 'not-found' }
  | { status: 'insufficient'; credits: number };

export interface UsageQuery {
  /** Epoch milliseconds, both inclusive: an hour counts when it overlaps [from, to]. */
  from: number;
  to: number;
  /** Normalized emails; every account when undefined. */
  emails?: readonly string[];
  services?: readonly UsageService[];
  by: 'hour' | 'total';
}

/** A row of the usage report; `from` and `to` are the first and last hour (epoch seconds). */
export interface UsageRow {
  email: string;
  from: number;
  to: number;
  service: UsageService;
  result: UsageResult;
  calls: number;
  credits: number;
  meanSecs: number;
}

const HOUR_SECONDS = 3600;

type Row = Record<string, unknown>;

function textColumn(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') {
    throw new Error(`Column ${column} is not text`);
  }
  return value;
}

function nullableTextColumn(row: Row, column: string): string | null {
  const value = row[column];
  if (value === null) {
    return null;
  }
  return textColumn(row, column);
}

function integerColumn(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new Error(`Column ${column} is not an integer`);
  }
  return value;
}

function toDealaiUser(row: Row): DealaiUser {
  const passwordSource = textColumn(row, 'password_source');
  return {
    email: textColumn(row, 'email'),
    firstName: textColumn(row, 'first_name'),
    lastName: nullableTextColumn(row, 'last_name'),
    role: nullableTextColumn(row, 'role'),
    passwordSource: passwordSource === 'provided' ? 'provided' : 'generated',
    inviteSent: integerColumn(row, 'invite_sent') === 1,
  };
}

function numberColumn(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`Column ${column} is not a number`);
  }
  return value;
}

function toUsageRow(row: Row): UsageRow {
  const service = textColumn(row, 'service');
  const calls = integerColumn(row, 'calls');
  return {
    email: textColumn(row, 'email'),
    from: integerColumn(row, 'first'),
    to: integerColumn(row, 'last'),
    service: service === 'search' ? 'search' : 'browser',
    result: textColumn(row, 'result') === 'success' ? 'success' : 'failure',
    calls,
    credits: integerColumn(row, 'credits'),
    meanSecs: Math.round((numberColumn(row, 'secs') / calls) * 100) / 100,
  };
}

function toAdminAccount(row: Row): AdminAccount {
  return { email: textColumn(row, 'email'), credits: integerColumn(row, 'credits') };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dealai_users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  first_name TEXT NOT NULL,
  last_name TEXT,
  role TEXT,
  password_source TEXT NOT NULL CHECK (password_source IN ('provided', 'generated')),
  invite_sent INTEGER NOT NULL CHECK (invite_sent IN (0, 1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS admin_accounts (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  token_hash TEXT NOT NULL,
  credits INTEGER NOT NULL CHECK (credits >= 0),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS admin_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  email TEXT NOT NULL,
  credits INTEGER NOT NULL CHECK (credits >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS admin_usage (
  email TEXT NOT NULL,
  hour INTEGER NOT NULL,
  service TEXT NOT NULL CHECK (service IN ('search', 'browser')),
  result TEXT NOT NULL CHECK (result IN ('success', 'failure')),
  calls INTEGER NOT NULL CHECK (calls >= 1),
  credits INTEGER NOT NULL CHECK (credits >= 0),
  secs REAL NOT NULL CHECK (secs >= 0),
  PRIMARY KEY (email, hour, service, result)
) STRICT;
CREATE TABLE IF NOT EXISTS zapier_tokens (
  token_hash TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  connection TEXT NOT NULL,
  issued_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS zcache (
  partition TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (partition, key)
) STRICT;
CREATE INDEX IF NOT EXISTS zcache_expiry ON zcache (expires_at) WHERE expires_at IS NOT NULL;
`;

// Named parameters: $first/$last bound hours (epoch seconds); $emails/$services JSON arrays or null.
const USAGE_FILTER = `hour BETWEEN $first AND $last
  AND ($emails IS NULL OR email IN (SELECT value FROM json_each($emails)))
  AND ($services IS NULL OR service IN (SELECT value FROM json_each($services)))`;

const DEALAI_COLUMNS = 'email, first_name, last_name, role, password_source, invite_sent';

export interface StoreOptions {
  /** A file path, or ':memory:' (the default). The parent directory is created when missing. */
  path?: string;
  ownerEmail: string;
  ownerCredits?: number;
}

export class SandboxStore {
  private readonly db: DatabaseSync;
  private readonly statements: {
    dealaiInsert: StatementSync;
    dealaiDelete: StatementSync;
    dealaiSetRole: StatementSync;
    dealaiGet: StatementSync;
    dealaiAll: StatementSync;
    adminInsert: StatementSync;
    adminList: StatementSync;
    adminListSome: StatementSync;
    adminGrant: StatementSync;
    adminGet: StatementSync;
    adminDelete: StatementSync;
    ownerGet: StatementSync;
    ownerSpend: StatementSync;
    adminSpend: StatementSync;
    usageRecord: StatementSync;
    usageByHour: StatementSync;
    usageTotal: StatementSync;
    tokenInsert: StatementSync;
    tokenGet: StatementSync;
    cacheGet: StatementSync;
    cacheSet: StatementSync;
    cacheSetIfAbsent: StatementSync;
    cacheDelete: StatementSync;
    cachePurge: StatementSync;
  };

  constructor(options: StoreOptions) {
    const location = options.path ?? ':memory:';
    if (location !== ':memory:') {
      fs.mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
    }
    this.db = new DatabaseSync(location);
    if (location !== ':memory:') {
      this.db.exec('PRAGMA journal_mode = WAL');
    }
    this.db.exec(SCHEMA);
    this.db
      .prepare(
        'INSERT INTO admin_owner (id, email, credits) VALUES (1, ?, ?) ON CONFLICT DO NOTHING',
      )
      .run(options.ownerEmail, options.ownerCredits ?? DEFAULT_OWNER_CREDITS);

    this.statements = {
      dealaiInsert: this.db.prepare(
        `INSERT INTO dealai_users (${DEALAI_COLUMNS}, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (email) DO NOTHING
         RETURNING ${DEALAI_COLUMNS}`,
      ),
      dealaiDelete: this.db.prepare(
        `DELETE FROM dealai_users WHERE email = ? RETURNING ${DEALAI_COLUMNS}`,
      ),
      dealaiSetRole: this.db.prepare(
        `UPDATE dealai_users SET role = ?, updated_at = ? WHERE email = ? RETURNING ${DEALAI_COLUMNS}`,
      ),
      dealaiGet: this.db.prepare(`SELECT ${DEALAI_COLUMNS} FROM dealai_users WHERE email = ?`),
      dealaiAll: this.db.prepare(`SELECT ${DEALAI_COLUMNS} FROM dealai_users ORDER BY id`),
      adminInsert: this.db.prepare(
        `INSERT INTO admin_accounts (email, token_hash, credits, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (email) DO NOTHING
         RETURNING email, credits`,
      ),
      adminList: this.db.prepare('SELECT email, credits FROM admin_accounts ORDER BY id'),
      adminListSome: this.db.prepare(
        `SELECT a.email, a.credits
         FROM (SELECT value AS email, MIN(key) AS position FROM json_each(?) GROUP BY value) AS q
         JOIN admin_accounts AS a ON a.email = q.email
         ORDER BY q.position`,
      ),
      adminGrant: this.db.prepare(
        `UPDATE admin_accounts SET credits = credits + ?, updated_at = ?
         WHERE email = ? AND credits <= ? - ?
         RETURNING email, credits`,
      ),
      adminGet: this.db.prepare('SELECT email, credits FROM admin_accounts WHERE email = ?'),
      adminDelete: this.db.prepare('DELETE FROM admin_accounts WHERE email = ? RETURNING email'),
      ownerGet: this.db.prepare('SELECT email, credits FROM admin_owner WHERE id = 1'),
      ownerSpend: this.db.prepare(
        `UPDATE admin_owner SET credits = credits - ?
         WHERE id = 1 AND email = ? AND credits >= ?
         RETURNING email, credits`,
      ),
      adminSpend: this.db.prepare(
        `UPDATE admin_accounts SET credits = credits - ?, updated_at = ?
         WHERE email = ? AND credits >= ?
         RETURNING email, credits`,
      ),
      usageRecord: this.db.prepare(
        `INSERT INTO admin_usage (email, hour, service, result, calls, credits, secs)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (email, hour, service, result) DO UPDATE SET
           calls = calls + excluded.calls,
           credits = credits + excluded.credits,
           secs = secs + excluded.secs`,
      ),
      usageByHour: this.db.prepare(
        `SELECT email, hour AS first, hour AS last, service, result, calls, credits, secs
         FROM admin_usage
         WHERE ${USAGE_FILTER}
         ORDER BY email, hour, service, result`,
      ),
      usageTotal: this.db.prepare(
        `SELECT email, MIN(hour) AS first, MAX(hour) AS last, service, result,
                SUM(calls) AS calls, SUM(credits) AS credits, SUM(secs) AS secs
         FROM admin_usage
         WHERE ${USAGE_FILTER}
         GROUP BY email, service, result
         ORDER BY email, service, result`,
      ),
      tokenInsert: this.db.prepare(
        'INSERT INTO zapier_tokens (token_hash, account, connection, issued_at) VALUES (?, ?, ?, ?)',
      ),
      tokenGet: this.db.prepare(
        'SELECT account, connection FROM zapier_tokens WHERE token_hash = ?',
      ),
      // A row whose expires_at has passed is gone for every reader, even before it is purged.
      cacheGet: this.db.prepare(
        `SELECT value FROM zcache
         WHERE partition = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)`,
      ),
      cacheSet: this.db.prepare(
        `INSERT INTO zcache (partition, key, value, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (partition, key) DO UPDATE
         SET value = excluded.value, expires_at = excluded.expires_at`,
      ),
      // One statement, so set-if-absent is atomic even between two processes on one file: it
      // inserts, or replaces an expired row, or changes nothing and returns no row.
      cacheSetIfAbsent: this.db.prepare(
        `INSERT INTO zcache (partition, key, value, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (partition, key) DO UPDATE
         SET value = excluded.value, expires_at = excluded.expires_at
         WHERE zcache.expires_at IS NOT NULL AND zcache.expires_at <= ?
         RETURNING key`,
      ),
      cacheDelete: this.db.prepare(
        `DELETE FROM zcache
         WHERE partition = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)
         RETURNING key`,
      ),
      cachePurge: this.db.prepare('DELETE FROM zcache WHERE expires_at <= ?'),
    };
  }

  /** Inserts a Deal.ai user; `undefined` when the (normalized) email already exists. */
  addDealaiUser(user: NewDealaiUser): DealaiUser | undefined {
    const now = new Date().toISOString();
    const row = this.statements.dealaiInsert.get(
      user.email,
      user.firstName,
      user.lastName,
      user.role,
      user.passwordSource,
      user.inviteSent ? 1 : 0,
      now,
      now,
    );
    return row === undefined ? undefined : toDealaiUser(row);
  }

  /** Deletes a Deal.ai user; `undefined` when there is none with that email. */
  removeDealaiUser(email: string): DealaiUser | undefined {
    const row = this.statements.dealaiDelete.get(email);
    return row === undefined ? undefined : toDealaiUser(row);
  }

  /** Sets (or, with `null`, clears) a Deal.ai user's role; `undefined` when the user is unknown. */
  setDealaiRole(email: string, role: string | null): DealaiUser | undefined {
    const row = this.statements.dealaiSetRole.get(role, new Date().toISOString(), email);
    return row === undefined ? undefined : toDealaiUser(row);
  }

  getDealaiUser(email: string): DealaiUser | undefined {
    const row = this.statements.dealaiGet.get(email);
    return row === undefined ? undefined : toDealaiUser(row);
  }

  listDealaiUsers(): DealaiUser[] {
    return this.statements.dealaiAll.all().map(toDealaiUser);
  }

  /** Inserts an admin account; `undefined` when the (normalized) email already exists. */
  createAdminAccount(email: string, tokenHash: string, credits: number): AdminAccount | undefined {
    const now = new Date().toISOString();
    const row = this.statements.adminInsert.get(email, tokenHash, credits, now, now);
    return row === undefined ? undefined : toAdminAccount(row);
  }

  /** All accounts (oldest first), or only those whose email is listed (in the order given). */
  listAdminAccounts(emails?: readonly string[]): AdminAccount[] {
    const rows =
      emails === undefined
        ? this.statements.adminList.all()
        : this.statements.adminListSome.all(JSON.stringify(emails));
    return rows.map(toAdminAccount);
  }

  getAdminAccount(email: string): AdminAccount | undefined {
    const row = this.statements.adminGet.get(email);
    return row === undefined ? undefined : toAdminAccount(row);
  }

  /** Adds `amount` credits in one statement, refusing balances above {@link MAX_BALANCE}. */
  grantAdminCredits(email: string, amount: number): GrantResult {
    const row = this.statements.adminGrant.get(
      amount,
      new Date().toISOString(),
      email,
      MAX_BALANCE,
      amount,
    );
    if (row !== undefined) {
      return { status: 'granted', account: toAdminAccount(row) };
    }
    const existing = this.getAdminAccount(email);
    return existing === undefined
      ? { status: 'not-found' }
      : { status: 'overflow', credits: existing.credits };
  }

  /** Deletes (deactivates) an account; `undefined` when there is none with that email. */
  deactivateAdminAccount(email: string): AdminAccount | undefined {
    const row = this.statements.adminDelete.get(email);
    return row === undefined ? undefined : { email: textColumn(row, 'email'), credits: 0 };
  }

  /**
   * Spends credits of an account (or of the owner's, by its email) and records the calls in the
   * usage report, in one transaction. Sandbox only: the real API records usage as its services
   * are called.
   */
  consume(consumption: Consumption): ConsumeResult {
    const { email, credits } = consumption;
    const hour = Math.floor(consumption.at.getTime() / 1000 / HOUR_SECONDS) * HOUR_SECONDS;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const row =
        this.statements.ownerSpend.get(credits, email, credits) ??
        this.statements.adminSpend.get(credits, new Date().toISOString(), email, credits);
      if (row === undefined) {
        this.db.exec('ROLLBACK');
        const current = email === this.owner().email ? this.owner() : this.getAdminAccount(email);
        return current === undefined
          ? { status: 'not-found' }
          : { status: 'insufficient', credits: current.credits };
      }
      this.statements.usageRecord.run(
        email,
        hour,
        consumption.service,
        consumption.failed ? 'failure' : 'success',
        consumption.calls,
        credits,
        consumption.secs * consumption.calls,
      );
      this.db.exec('COMMIT');
      return { status: 'consumed', account: toAdminAccount(row), hour };
    } catch (error) {
      if (this.db.isTransaction) {
        this.db.exec('ROLLBACK');
      }
      throw error;
    }
  }

  /** The usage report: rows per email, service and result, per hour or totalled. */
  usage(query: UsageQuery): UsageRow[] {
    const parameters = {
      first: Math.floor(query.from / 1000 / HOUR_SECONDS) * HOUR_SECONDS,
      last: Math.floor(query.to / 1000),
      emails: query.emails === undefined ? null : JSON.stringify(query.emails),
      services: query.services === undefined ? null : JSON.stringify(query.services),
    };
    const statement =
      query.by === 'hour' ? this.statements.usageByHour : this.statements.usageTotal;
    return statement.all(parameters).map(toUsageRow);
  }

  /**
   * Inserts many accounts in one transaction (for benchmarks); existing emails are skipped.
   * Their tokens are never issued, so they cannot authenticate. Returns how many were created.
   */
  seedAdminAccounts(accounts: readonly AdminAccount[]): number {
    const now = new Date().toISOString();
    let created = 0;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const account of accounts) {
        const token = randomBytes(16).toString('hex');
        const row = this.statements.adminInsert.get(
          account.email,
          token,
          account.credits,
          now,
          now,
        );
        created += row === undefined ? 0 : 1;
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    return created;
  }

  owner(): AdminAccount {
    const row = this.statements.ownerGet.get();
    if (row === undefined) {
      throw new Error('The admin owner row is missing');
    }
    return toAdminAccount(row);
  }

  /** Records a token (by its hash) as standing for `identity`. */
  addZapierToken(tokenHash: string, identity: ZapierIdentity): void {
    this.statements.tokenInsert.run(
      tokenHash,
      identity.account,
      identity.connection,
      new Date().toISOString(),
    );
  }

  zapierIdentity(tokenHash: string): ZapierIdentity | undefined {
    const row = this.statements.tokenGet.get(tokenHash);
    return row === undefined
      ? undefined
      : { account: textColumn(row, 'account'), connection: textColumn(row, 'connection') };
  }

  /** The live value of a cache key at time `now` (ms), or `undefined`. */
  cacheGet(partition: string, key: string, now: number): string | undefined {
    const row = this.statements.cacheGet.get(partition, key, now);
    return row === undefined ? undefined : textColumn(row, 'value');
  }

  /**
   * Stores a value until `expiresAt` (ms; `null`: no expiry). With `onlyIfAbsent`, only when the
   * key has no live value; returns whether it stored.
   */
  cacheSet(
    partition: string,
    key: string,
    value: string,
    expiresAt: number | null,
    onlyIfAbsent: boolean,
    now: number,
  ): boolean {
    this.statements.cachePurge.run(now);
    if (!onlyIfAbsent) {
      this.statements.cacheSet.run(partition, key, value, expiresAt);
      return true;
    }
    return (
      this.statements.cacheSetIfAbsent.get(partition, key, value, expiresAt, now) !== undefined
    );
  }

  /** Deletes a live key; returns whether there was one. */
  cacheDelete(partition: string, key: string, now: number): boolean {
    return this.statements.cacheDelete.get(partition, key, now) !== undefined;
  }

  close(): void {
    if (this.db.isOpen) {
      this.db.close();
    }
  }
}
