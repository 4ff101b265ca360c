import { defineInputFields, defineTrigger } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { openApi } from '../client';
import { creditsField, invalid, readChoice, readCredits } from '../fields';
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

export const CREDITS_LOW = 'credits_low';
const LABEL = 'Credits Running Low';

export const ACCOUNTS = { users: 'users', own: 'own' } as const;
type AccountChoice = (typeof ACCOUNTS)[keyof typeof ACCOUNTS];

/** Polls in which an episode is returned, so that a lost poll is made up by the next ones. */
export const REPEATS = 3;
/** Items per poll, whatever the number of accounts: about 160 KB, far below Zapier's 6 MB. */
export const MAX_ITEMS = 1000;

const ACCOUNT_CHOICES = [
  { value: ACCOUNTS.users, label: "Every user's account", sample: ACCOUNTS.users },
  { value: ACCOUNTS.own, label: 'Your own account (the connection)', sample: ACCOUNTS.own },
] as const satisfies readonly { value: AccountChoice; label: string; sample: string }[];

const inputFields = defineInputFields([
  creditsField({
    key: 'threshold',
    label: 'Threshold',
    required: true,
    helpText:
      'A whole number of 1 or more. The Zap runs once when an account is seen with fewer credits than this, and again only after the account has been seen at or above it and drops again. Accounts already below when you turn the Zap on wait until they have recovered and drop again.',
  }),
  {
    key: 'account',
    label: 'Account',
    type: 'string',
    required: false,
    default: ACCOUNTS.users,
    choices: [...ACCOUNT_CHOICES],
    helpText:
      "Watch every user's balance on your site, or the balance of the account this connection belongs to (your own pool of credits).",
  },
]);

type Input = InferInputData<typeof inputFields>;

export interface LowCredits {
  /** One ID per time below: the email and when the account was first seen below. */
  id: string;
  email: string;
  credits: number;
  threshold: number;
  belowSince: string;
}

/** An account seen below the threshold: since when (0: already below at a fresh start). */
interface Below {
  since: number;
  shown: number;
}

export interface CreditsLowMemory {
  /** The latest `since` handed out, so that two episodes never share an ID. */
  last: number;
  below: Map<string, Below>;
}

const QUIET = 0;

/** The memory as stored: fingerprints grouped by `<since>.<shown>`. */
export type StoredCreditsLow = {
  v: 1;
  last: number;
  below: Groups;
};

export const packCreditsLow = (memory: CreditsLowMemory): StoredCreditsLow => ({
  v: 1,
  last: memory.last,
  below: packGroups(memory.below, ({ since, shown }) => `${String(since)}.${String(shown)}`),
});

/** The memory read back from the cache; `undefined` when there is none or it is not ours. */
export const unpackCreditsLow = (stored: unknown): CreditsLowMemory | undefined => {
  const last = propertyOf(stored, 'last');
  const below = unpackGroups(propertyOf(stored, 'below'), (label): Below | undefined => {
    const match = /^(\d+)\.(\d+)$/.exec(label);
    return match === null ? undefined : { since: Number(match[1]), shown: Number(match[2]) };
  });
  return propertyOf(stored, 'v') === 1 && typeof last === 'number' && below !== undefined
    ? { last, below }
    : undefined;
};

export interface CreditsLowStep {
  memory: CreditsLowMemory;
  items: LowCredits[];
  /** The items whose episode the previous memory already held: their IDs are stable. */
  known: LowCredits[];
}

/**
 * One poll's worth of memory: which accounts are below now and since when, and which episodes
 * to return. `previous` undefined starts afresh: whoever is below then is quiet until recovered.
 */
export const stepCreditsLow = (
  previous: CreditsLowMemory | undefined,
  accounts: readonly Account[],
  threshold: number,
  now: number,
): CreditsLowStep => {
  // Accounts first seen below in this poll share its time; a later episode gets a later one.
  const since = Math.max(now, (previous?.last ?? 0) + 1);
  let last = previous?.last ?? 0;
  const below = new Map<string, Below>();
  const seen = new Map<string, { entry: Below; account: Account; known: boolean }>();
  for (const account of accounts) {
    const print = fingerprint(account.email);
    if (account.credits >= threshold || below.has(print)) {
      continue;
    }
    const before = previous?.below.get(print);
    let entry: Below;
    if (previous === undefined) {
      entry = { since: QUIET, shown: REPEATS };
    } else if (before !== undefined) {
      entry = { ...before };
    } else {
      last = since;
      entry = { since, shown: 0 };
    }
    below.set(print, entry);
    seen.set(print, { entry, account, known: before !== undefined });
  }
  // Episodes not yet returned come first, so that a flood drains over the next polls.
  const due = [...seen.values()]
    .filter(({ entry }) => entry.since !== QUIET && entry.shown < REPEATS)
    .sort(
      (a, b) =>
        a.entry.shown - b.entry.shown ||
        b.entry.since - a.entry.since ||
        a.account.email.localeCompare(b.account.email),
    )
    .slice(0, MAX_ITEMS);
  const items: LowCredits[] = [];
  const known: LowCredits[] = [];
  for (const { entry, account, known: wasKnown } of due) {
    entry.shown += 1;
    const email = normalizeEmail(account.email);
    const belowSince = new Date(entry.since).toISOString();
    const item = {
      id: `${email}#${belowSince}`,
      email,
      credits: account.credits,
      threshold,
      belowSince,
    };
    items.push(item);
    if (wasKnown) {
      known.push(item);
    }
  }
  const newestFirst = (a: LowCredits, b: LowCredits) =>
    b.belowSince.localeCompare(a.belowSince) || a.email.localeCompare(b.email);
  return {
    memory: { last, below },
    items: items.sort(newestFirst),
    known: known.sort(newestFirst),
  };
};

const readAccountChoice = (z: ZObject, value: unknown): AccountChoice =>
  readChoice(z, value, 'Account', ACCOUNT_CHOICES) ?? ACCOUNTS.users;

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<LowCredits[]> => {
  const api = openApi(z, bundle, LABEL, STEPS.creditsLow.routes);
  const threshold = readCredits(z, bundle.inputData.threshold, 'Threshold', 1);
  if (threshold === undefined) {
    throw invalid(z, 'Threshold', 'is empty. Type or map a whole number of 1 or more.');
  }
  const account = readAccountChoice(z, bundle.inputData.account);
  const answer = await api.call(account === ACCOUNTS.own ? 'ownAccount' : 'findUsers');
  const accounts = readAccounts(z, answer);
  const now = Date.now();

  if (bundle.meta.isLoadingSample) {
    // The Zap editor shows up to three; nothing is remembered for a test.
    return stepCreditsLow({ last: 0, below: new Map() }, accounts, threshold, now).items.slice(
      0,
      3,
    );
  }
  const memory = triggerMemory(z, bundle, api.connection, CREDITS_LOW, `${account}:${threshold}`);
  // Zapier forgets the IDs it saw when a Zap is turned off, so turning it on starts afresh.
  const previous = bundle.meta.isPopulatingDedupe
    ? undefined
    : unpackCreditsLow(await memory.load());
  const step = stepCreditsLow(previous, accounts, threshold, now);
  const fresh = previous === undefined || step.items.length > step.known.length;
  const saved = await memory.save(packCreditsLow(step.memory), fresh);
  if (!saved && previous === undefined) {
    throw new z.errors.Error(
      `${LABEL} could not store which accounts are below the threshold, so it cannot tell when one drops yet. Zapier will try again at the next poll.`,
      'MemoryUnavailable',
    );
  }
  // Unsaved, a new episode would get another ID next poll and run the Zap twice: it waits.
  return saved ? step.items : step.known;
};

export const creditsLow = defineTrigger({
  key: CREDITS_LOW,
  noun: 'Balance',
  display: {
    label: LABEL,
    description: `Triggers when an account's API credits fall below a threshold you choose: a user's, or your own.${onlyOn(STEPS.creditsLow.routes)}`,
  },
  operation: {
    type: 'polling',
    inputFields,
    perform,
    sample: {
      id: 'jane.doe@example.com#2025-06-01T09:30:00.000Z',
      email: 'jane.doe@example.com',
      credits: 40,
      threshold: 100,
      belowSince: '2025-06-01T09:30:00.000Z',
    } satisfies LowCredits,
    outputFields: [
      { key: 'id', label: 'ID', type: 'string' },
      { key: 'email', label: 'Email', type: 'string' },
      { key: 'credits', label: 'Credits', type: 'integer' },
      { key: 'threshold', label: 'Threshold', type: 'integer' },
      { key: 'belowSince', label: 'Below Since', type: 'datetime' },
    ],
  },
});
