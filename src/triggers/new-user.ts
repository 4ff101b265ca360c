import { defineTrigger } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { openApi } from '../client';
import {
  fingerprint,
  normalizeEmail,
  packGroups,
  propertyOf,
  triggerMemory,
  unpackGroups,
} from '../memory';
import type { Groups } from '../memory';
import { readAccounts } from '../records';
import type { Account } from '../records';
import { STEPS, onlyOn } from '../providers';

export const NEW_USER = 'new_user';
const LABEL = 'New User';

/** Polls in which a new account is returned, so that a lost poll is made up by the next ones. */
export const REPEATS = 3;
/** Items per poll, whatever the number of accounts: about 80 KB, far below Zapier's 6 MB. */
export const MAX_ITEMS = 1000;
/** What the Zap editor shows of a test poll. */
const SAMPLE_ITEMS = 3;

export interface NewUser {
  /** The normalized email: an account fires once per Zap, whenever it appears. */
  id: string;
  email: string;
  credits: number;
}

/** Every account seen at the last poll: DONE, or how many polls it has been returned in. */
export type NewUserMemory = Map<string, number>;

const DONE = REPEATS;

export type StoredNewUser = {
  v: 1;
  accounts: Groups;
};

export const packNewUser = (memory: NewUserMemory): StoredNewUser => ({
  v: 1,
  accounts: packGroups(memory, String),
});

/** The memory read back from the cache; `undefined` when there is none or it is not ours. */
export const unpackNewUser = (stored: unknown): NewUserMemory | undefined => {
  const memory = unpackGroups(propertyOf(stored, 'accounts'), (label) => {
    const shown = Number(label);
    return Number.isInteger(shown) && shown >= 0 && shown <= DONE ? shown : undefined;
  });
  return propertyOf(stored, 'v') === 1 ? memory : undefined;
};

export interface NewUserStep {
  memory: NewUserMemory;
  items: NewUser[];
}

/**
 * One poll's worth of memory: every account listed now, and the new ones to return, in the reverse
 * of the API's order (the sandbox lists the oldest first, so the newest come first; the order
 * decides nothing else). `previous` undefined starts afresh: every account listed then is known,
 * and none is returned.
 */
export const stepNewUser = (
  previous: NewUserMemory | undefined,
  accounts: readonly Account[],
): NewUserStep => {
  const memory: NewUserMemory = new Map();
  const due: { print: string; position: number; account: Account; shown: number }[] = [];
  for (const [position, account] of accounts.entries()) {
    const print = fingerprint(account.email);
    if (memory.has(print)) {
      continue;
    }
    const shown = previous === undefined ? DONE : (previous.get(print) ?? 0);
    memory.set(print, shown);
    if (shown < DONE) {
      due.push({ print, position, account, shown });
    }
  }
  // Accounts not yet returned come first, so that a bulk import drains over the next polls.
  const returned = due
    .sort((a, b) => a.shown - b.shown || b.position - a.position)
    .slice(0, MAX_ITEMS)
    .sort((a, b) => b.position - a.position);
  for (const { print, shown } of returned) {
    memory.set(print, shown + 1);
  }
  return {
    memory,
    items: returned.map(({ account }) => {
      const email = normalizeEmail(account.email);
      return { id: email, email, credits: account.credits };
    }),
  };
};

const perform = async (z: ZObject, bundle: Bundle): Promise<NewUser[]> => {
  const api = openApi(z, bundle, LABEL, STEPS.newUser.routes);
  const accounts = readAccounts(z, await api.call('findUsers'));

  if (bundle.meta.isLoadingSample) {
    // The Zap editor shows up to three: the newest accounts, from the end of the list (twice as
    // many, in case it repeats one). Nothing is remembered for a test.
    return stepNewUser(new Map(), accounts.slice(-SAMPLE_ITEMS * 2)).items.slice(0, SAMPLE_ITEMS);
  }
  const memory = triggerMemory(z, bundle, api.connection, NEW_USER, 'accounts');
  // Zapier forgets the IDs it saw when a Zap is turned off, so turning it on starts afresh.
  const previous = bundle.meta.isPopulatingDedupe ? undefined : unpackNewUser(await memory.load());
  const step = stepNewUser(previous, accounts);
  const saved = await memory.save(packNewUser(step.memory), previous === undefined);
  if (!saved && previous === undefined) {
    throw new z.errors.Error(
      `${LABEL} could not store the list of accounts it has seen, so it cannot tell new ones yet. Zapier will try again at the next poll.`,
      'MemoryUnavailable',
    );
  }
  // IDs are emails, so items stay right even unsaved: Zapier skips the ones it has seen.
  return step.items;
};

export const newUser = defineTrigger({
  key: NEW_USER,
  noun: 'User',
  display: {
    label: LABEL,
    description: `Triggers when a new account appears on your white-label site, however it was added.${onlyOn(STEPS.newUser.routes)}`,
  },
  operation: {
    type: 'polling',
    perform,
    sample: {
      id: 'jane.doe@example.com',
      email: 'jane.doe@example.com',
      credits: 100,
    } satisfies NewUser,
    outputFields: [
      { key: 'id', label: 'ID', type: 'string' },
      { key: 'email', label: 'Email', type: 'string' },
      { key: 'credits', label: 'Credits', type: 'integer' },
    ],
  },
});
