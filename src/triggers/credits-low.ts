import { defineInputFields, defineTrigger } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import type { Api } from '../client';
import { creditsField, invalid, readChoice, readCredits } from '../fields';
import {
  PrintTableBuilder,
  TopK,
  emailPrint,
  metaFlag,
  normalizeEmail,
  packGroups,
  propertyOf,
  tableMemory,
  unpackGroups,
} from '../memory';
import type { Codec, Groups, PrintLookup, PrintTable } from '../memory';
import { eachAccount, readAccounts } from '../records';
import type { Account } from '../records';
import { STEPS, onlyOn } from '../providers';

const CREDITS_LOW = 'credits_low';
const LABEL = 'Credits Running Low';

const ACCOUNTS = { users: 'users', own: 'own' } as const;
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
export interface Below {
  since: number;
  shown: number;
}

/** `since` and `shown` in one number: since × 4 + shown (shown is at most REPEATS, 3). */
const BELOW: Codec<Below> = {
  encode: ({ since, shown }) => since * 4 + shown,
  decode: (code) => ({ since: Math.floor(code / 4), shown: code % 4 }),
  label: (code) => `${String(Math.floor(code / 4))}.${String(code % 4)}`,
  parse: (label) => {
    const match = /^(\d{1,15})\.([0-3])$/.exec(label);
    return match === null ? undefined : Number(match[1]) * 4 + Number(match[2]);
  },
};

/** What a poll reads of the previous poll's memory (a Map of fingerprints will do in tests). */
export interface CreditsLowMemory {
  /** The latest `since` handed out, so that two episodes never share an ID. */
  last: number;
  below: PrintLookup<Below> & { readonly size: number; values: () => Iterable<Below> };
}

/** What a poll leaves behind: the accounts below, as a table of fingerprints. */
export interface CreditsLowTable extends CreditsLowMemory {
  below: PrintTable<Below>;
}

const QUIET = 0;

/** The cache value of a memory small enough for one (tableMemory splits larger ones). */
export type StoredCreditsLow = {
  v: 2;
  last: number;
  pieces: 0;
  below: Groups;
};

export const packCreditsLow = (memory: CreditsLowTable): StoredCreditsLow => ({
  v: 2,
  last: memory.last,
  pieces: 0,
  below: packGroups(memory.below, BELOW),
});

/** The memory read back from one cache value; `undefined` when there is none or it is not ours. */
export const unpackCreditsLow = (stored: unknown): CreditsLowTable | undefined => {
  const last = propertyOf(stored, 'last');
  const below =
    propertyOf(stored, 'pieces') === 0
      ? unpackGroups(propertyOf(stored, 'below'), BELOW)
      : undefined;
  return propertyOf(stored, 'v') === 2 && typeof last === 'number' && below !== undefined
    ? { last, below }
    : undefined;
};

export interface CreditsLowStep {
  memory: CreditsLowTable;
  items: LowCredits[];
  /** The items whose episode the previous memory already held: their IDs are stable. */
  known: LowCredits[];
}

interface Due {
  print: number;
  entry: Below;
  account: Account;
  known: boolean;
}

/** Episodes not yet returned come first, so that a flood drains over the next polls. */
const dueFirst = (a: Due, b: Due) =>
  a.entry.shown - b.entry.shown ||
  b.entry.since - a.entry.since ||
  a.account.email.localeCompare(b.account.email);

/**
 * One poll's worth of memory, fed one account at a time as the list streams in: which accounts
 * are below now and since when, and which episodes to return. `previous` undefined starts
 * afresh: whoever is below then is quiet until recovered; so is whoever falls in a part of
 * `previous` that was lost. An account at or above the threshold costs one comparison: it is
 * neither hashed nor kept. Memory: the table of accounts below and MAX_ITEMS candidates.
 */
const creditsLowPoll = (previous: CreditsLowMemory | undefined, threshold: number, now: number) => {
  // Accounts first seen below in this poll share its time; a later episode gets a later one.
  const since = Math.max(now, (previous?.last ?? 0) + 1);
  let last = previous?.last ?? 0;
  const below = new PrintTableBuilder(BELOW, previous?.below.size ?? 0);
  const due = new TopK(MAX_ITEMS, dueFirst);
  return {
    add: (account: Account): void => {
      if (account.credits >= threshold) {
        return;
      }
      const print = emailPrint(account.email);
      if (below.has(print)) {
        return;
      }
      const fresh = previous === undefined || previous.below.isLost?.(print) === true;
      const before = fresh ? undefined : previous.below.get(print);
      let entry: Below;
      if (fresh) {
        entry = { since: QUIET, shown: REPEATS };
      } else if (before !== undefined) {
        entry = { ...before };
      } else {
        last = since;
        entry = { since, shown: 0 };
      }
      below.set(print, BELOW.encode(entry));
      if (entry.since !== QUIET && entry.shown < REPEATS) {
        due.add({ print, entry, account, known: before !== undefined });
      }
    },
    finish: (): CreditsLowStep => {
      const items: LowCredits[] = [];
      const known: LowCredits[] = [];
      for (const { print, entry, account, known: wasKnown } of due.take()) {
        entry.shown += 1;
        below.set(print, BELOW.encode(entry));
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
        memory: { last, below: below.build() },
        items: items.sort(newestFirst),
        known: known.sort(newestFirst),
      };
    },
  };
};

/** {@link creditsLowPoll} over a list at once. */
export const stepCreditsLow = (
  previous: CreditsLowMemory | undefined,
  accounts: readonly Account[],
  threshold: number,
  now: number,
): CreditsLowStep => {
  const poll = creditsLowPoll(previous, threshold, now);
  accounts.forEach(poll.add);
  return poll.finish();
};

const readAccountChoice = (z: ZObject, value: unknown): AccountChoice =>
  readChoice(z, value, 'Account', ACCOUNT_CHOICES) ?? ACCOUNTS.users;

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<LowCredits[]> => {
  const api = apiFor(z, bundle, LABEL, STEPS.creditsLow.routes);
  const threshold = readCredits(z, bundle.inputData.threshold, 'Threshold', 1);
  if (threshold === undefined) {
    throw invalid(z, 'Threshold', 'is empty. Type or map a whole number of 1 or more.');
  }
  const account = readAccountChoice(z, bundle.inputData.account);
  const route = account === ACCOUNTS.own ? 'ownAccount' : 'findUsers';
  const now = Date.now();

  if (metaFlag(bundle, 'isLoadingSample')) {
    // The Zap editor shows up to three; nothing is remembered for a test.
    const poll = creditsLowPoll({ last: 0, below: new Map() }, threshold, now);
    await readBalances(z, api, route, poll.add);
    return poll.finish().items.slice(0, 3);
  }
  const store = tableMemory(
    z,
    bundle,
    api.connection,
    CREDITS_LOW,
    `${account}:${String(threshold)}`,
    'below',
    BELOW,
  );
  // Zapier forgets the IDs it saw when a Zap is turned off, so turning it on starts afresh.
  const loaded = metaFlag(bundle, 'isPopulatingDedupe') ? undefined : await store.load();
  const last = propertyOf(loaded?.head, 'last');
  const previous =
    loaded === undefined || typeof last !== 'number' ? undefined : { last, below: loaded.table };
  const poll = creditsLowPoll(previous, threshold, now);
  await readBalances(z, api, route, poll.add);
  const step = poll.finish();
  const fresh = previous === undefined || step.items.length > step.known.length;
  const { saved } = await store.save(
    step.memory.below,
    { last: step.memory.last },
    previous === undefined ? undefined : loaded,
    fresh,
  );
  if (!saved && previous === undefined) {
    throw new z.errors.Error(
      `${LABEL} could not store which accounts are below the threshold, so it cannot tell when one drops yet. Zapier will try again at the next poll.`,
      'MemoryUnavailable',
    );
  }
  // Unsaved, a new episode would get another ID next poll and run the Zap twice: it waits.
  return saved ? step.items : step.known;
};

/** Every account of GET /users as it streams in, or the one GET /user answers. */
const readBalances = async (
  z: ZObject,
  api: Api,
  route: 'ownAccount' | 'findUsers',
  onAccount: (account: Account) => void,
): Promise<void> => {
  if (route === 'findUsers') {
    await eachAccount(z, api, route, onAccount);
  } else {
    readAccounts(z, await api.call(route)).forEach(onAccount);
  }
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
