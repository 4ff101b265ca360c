/**
 * What the APIs answer, read defensively. The admin API documents its account records
 * ({email, credits}); an answer that does not match is reported rather than passed on half-empty.
 * Deal.ai documents no 200 bodies at all, so only what is there is taken.
 */
import type { ZObject } from 'zapier-platform-core';

import { NotAList } from './client';
import type { Api } from './client';
import { PROVIDERS } from './providers';
import type { RouteName } from './providers';

/** A plain object (not null, not an array), read as a record of unknown values. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface Account {
  email: string;
  credits: number;
}

export interface NewAccount extends Account {
  token: string;
}

const isAccount = (value: unknown): value is Account =>
  typeof value === 'object' &&
  value !== null &&
  'email' in value &&
  typeof value.email === 'string' &&
  'credits' in value &&
  typeof value.credits === 'number' &&
  Number.isFinite(value.credits);

const unexpected = (z: ZObject, expected: string): Error =>
  new z.errors.Error(
    `The ${PROVIDERS.admin.label} answered without ${expected}, which its documentation promises. Check the connection's Base URL.`,
    'UnexpectedResponse',
  );

export const readAccount = (z: ZObject, data: unknown): Account => {
  if (!isAccount(data)) {
    throw unexpected(z, 'the account (email and credits)');
  }
  return { email: data.email, credits: data.credits };
};

/**
 * A 201 from POST /users. The service's page says the account comes back "along with … any
 * credits", so an answer without `credits` means the credits that were sent (`sent`, 0 when none).
 */
export const readNewAccount = (z: ZObject, data: unknown, sent: number): NewAccount => {
  const withCredits =
    typeof data === 'object' && data !== null && !('credits' in data)
      ? { ...data, credits: sent }
      : data;
  const account = readAccount(z, withCredits);
  const token =
    typeof data === 'object' && data !== null && 'token' in data ? data.token : undefined;
  if (typeof token !== 'string' || token === '') {
    throw unexpected(z, "the new account's token");
  }
  return { ...account, token };
};

const NOT_ACCOUNTS = 'a list of accounts (email and credits)';

export const readAccounts = (z: ZObject, data: unknown): Account[] => {
  if (!Array.isArray(data) || !data.every(isAccount)) {
    throw unexpected(z, NOT_ACCOUNTS);
  }
  return data.map(({ email, credits }) => ({ email, credits }));
};

/**
 * Hands each account of a list answer (GET /users) to `onAccount` as it is read from the stream
 * (Api.each), checking each as readAccounts does; the list is never held whole.
 */
export const eachAccount = async (
  z: ZObject,
  api: Api,
  route: RouteName,
  onAccount: (account: Account) => void,
): Promise<void> => {
  try {
    await api.each(route, (item) => {
      if (!isAccount(item)) {
        throw unexpected(z, NOT_ACCOUNTS);
      }
      onAccount({ email: item.email, credits: item.credits });
    });
  } catch (error) {
    throw error instanceof NotAList ? unexpected(z, NOT_ACCOUNTS) : error;
  }
};

/** Emails are case-insensitive on the admin API; find the one account that is `email`. */
export const findAccount = (accounts: readonly Account[], email: string): Account | undefined => {
  const wanted = email.toLowerCase();
  return accounts.find((account) => account.email.toLowerCase() === wanted);
};

/**
 * A text field from an answer whose shape is not documented (Deal.ai's 200 bodies): the value
 * when the body is an object holding a non-empty string there, else `undefined`.
 */
export const textAt = (data: unknown, key: string): string | undefined => {
  if (typeof data !== 'object' || data === null || !(key in data)) {
    return undefined;
  }
  const value: unknown = Reflect.get(data, key);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
};

/** A row of the admin API's usage report (GET /usage): one email, service and result. */
export interface UsageRow {
  email: string;
  service: string;
  result: string;
  calls: number;
  credits: number;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

const isUsageRow = (value: unknown): value is UsageRow =>
  typeof value === 'object' &&
  value !== null &&
  'email' in value &&
  typeof value.email === 'string' &&
  'service' in value &&
  typeof value.service === 'string' &&
  'result' in value &&
  typeof value.result === 'string' &&
  'calls' in value &&
  isCount(value.calls) &&
  'credits' in value &&
  isCount(value.credits);

export const readUsage = (z: ZObject, data: unknown): UsageRow[] => {
  if (!Array.isArray(data) || !data.every(isUsageRow)) {
    throw unexpected(z, 'a usage report (email, service, result, calls and credits per row)');
  }
  return data.map(({ email, service, result, calls, credits }) => ({
    email,
    service,
    result,
    calls,
    credits,
  }));
};
