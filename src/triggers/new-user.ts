import { defineTrigger } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import {
  PrintTable,
  TopK,
  emailPrint,
  metaFlag,
  normalizeEmail,
  packGroups,
  propertyOf,
  tableMemory,
  unpackGroups,
} from '../memory';
import type { Codec, Groups, PrintLookup } from '../memory';
import { eachAccount } from '../records';
import type { Account } from '../records';
import { STEPS, onlyOn } from '../providers';

const NEW_USER = 'new_user';
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
export type NewUserMemory = PrintTable<number>;

const DONE = REPEATS;
/** Times shown, 0 to DONE, fit in two bits beside a fingerprint (48 + 2 bits, exact in a double). */
const STATES = 4;

const SHOWN: Codec<number> = {
  encode: (shown) => shown,
  decode: (code) => code,
  label: String,
  parse: (label) => {
    const shown = Number(label);
    return /^\d$/.test(label) && shown <= DONE ? shown : undefined;
  },
};

/** The cache value of a memory small enough for one (tableMemory splits larger ones). */
export type StoredNewUser = {
  v: 2;
  pieces: 0;
  accounts: Groups;
};

export const packNewUser = (memory: NewUserMemory): StoredNewUser => ({
  v: 2,
  pieces: 0,
  accounts: packGroups(memory, SHOWN),
});

/** The memory read back from one cache value; `undefined` when there is none or it is not ours. */
export const unpackNewUser = (stored: unknown): NewUserMemory | undefined =>
  propertyOf(stored, 'v') === 2 && propertyOf(stored, 'pieces') === 0
    ? unpackGroups(propertyOf(stored, 'accounts'), SHOWN)
    : undefined;

export interface NewUserStep {
  memory: NewUserMemory;
  items: NewUser[];
}

interface Due {
  print: number;
  position: number;
  account: Account;
  shown: number;
}

/** Accounts not yet returned come first, so that a bulk import drains over the next polls. */
const dueFirst = (a: Due, b: Due) => a.shown - b.shown || b.position - a.position;

/**
 * One poll's worth of memory, fed one account at a time as the list streams in: every account
 * listed now, and the new ones to return, in the reverse of the API's order (the sandbox lists
 * the oldest first, so the newest come first; the order decides nothing else). `previous`
 * undefined starts afresh: every account listed then is known, and none is returned; so does a
 * part of `previous` that was lost. Memory: the table of fingerprints and MAX_ITEMS candidates.
 */
const sizeOf = (previous: PrintLookup<number> | undefined): number =>
  previous instanceof PrintTable ? previous.size : 0;

const newUserPoll = (previous: PrintLookup<number> | undefined) => {
  // Every account as fingerprint × 4 + times shown, in the order listed, sorted once at the end:
  // 8 bytes an account, and no table to look each one up in (an account listed twice gives the
  // same number twice). As many as last time, or so, so that it need not grow on the way.
  let entries = new Float64Array(Math.max(1024, sizeOf(previous) + 1024));
  let count = 0;
  const due = new TopK(MAX_ITEMS, dueFirst);
  // An account listed twice is due once, at its first place (as if the second were not there).
  const dueSeen = new Set<number>();
  let position = 0;
  return {
    add: (account: Account): void => {
      const print = emailPrint(account.email);
      position += 1;
      const shown =
        previous === undefined || previous.isLost?.(print) === true
          ? DONE
          : (previous.get(print) ?? 0);
      if (count === entries.length) {
        const grown = new Float64Array(entries.length * 2);
        grown.set(entries);
        entries = grown;
      }
      entries[count] = print * STATES + SHOWN.encode(shown);
      count += 1;
      if (shown < DONE && !dueSeen.has(print)) {
        dueSeen.add(print);
        due.add({ print, position, account, shown });
      }
    },
    finish: (): NewUserStep => {
      const sorted = entries.subarray(0, count).sort();
      let unique = 0;
      for (let at = 0; at < count; at += 1) {
        if (unique === 0 || sorted[at] !== sorted[unique - 1]) {
          sorted[unique] = Number(sorted[at]);
          unique += 1;
        }
      }
      const prints = new Float64Array(unique);
      const codes = new Float64Array(unique);
      for (let at = 0; at < unique; at += 1) {
        const entry = Number(sorted[at]);
        const shown = entry % STATES;
        prints[at] = (entry - shown) / STATES;
        codes[at] = shown;
      }
      const memory = new PrintTable(prints, codes, SHOWN);
      const returned = due.take().sort((a, b) => b.position - a.position);
      for (const { print, shown } of returned) {
        codes[memory.indexOf(print)] = shown + 1;
      }
      return {
        memory,
        items: returned.map(({ account }) => {
          const email = normalizeEmail(account.email);
          return { id: email, email, credits: account.credits };
        }),
      };
    },
  };
};

/** {@link newUserPoll} over a list at once. */
export const stepNewUser = (
  previous: PrintLookup<number> | undefined,
  accounts: readonly Account[],
): NewUserStep => {
  const poll = newUserPoll(previous);
  accounts.forEach(poll.add);
  return poll.finish();
};

const perform = async (z: ZObject, bundle: Bundle): Promise<NewUser[]> => {
  const api = apiFor(z, bundle, LABEL, STEPS.newUser.routes);

  if (metaFlag(bundle, 'isLoadingSample')) {
    // The Zap editor shows up to three: the newest accounts, from the end of the list (twice as
    // many, in case it repeats one). Only those are kept; nothing is remembered for a test.
    const last: Account[] = [];
    await eachAccount(z, api, 'findUsers', (account) => {
      last.push(account);
      if (last.length > SAMPLE_ITEMS * 2) {
        last.shift();
      }
    });
    return stepNewUser(new Map(), last).items.slice(0, SAMPLE_ITEMS);
  }
  const store = tableMemory(z, bundle, api.connection, NEW_USER, 'accounts', 'accounts', SHOWN);
  // Zapier forgets the IDs it saw when a Zap is turned off, so turning it on starts afresh.
  const loaded = metaFlag(bundle, 'isPopulatingDedupe') ? undefined : await store.load();
  const poll = newUserPoll(loaded?.table);
  await eachAccount(z, api, 'findUsers', poll.add);
  const step = poll.finish();
  const { saved } = await store.save(step.memory, {}, loaded, loaded === undefined);
  if (!saved && loaded === undefined) {
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
