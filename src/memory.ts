/**
 * What the polling triggers remember between polls, in a form small enough for z.cache at the
 * scale of a white-label site (50,000 accounts): each account is an 8-character fingerprint of its
 * email, never the email itself, and accounts that share a state share one string.
 */
import { hash } from 'node:crypto';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { openCache } from './cache';
import type { Json } from './cache';
import type { Connection } from './client';

/** Emails are case-insensitive on the admin API; this is the form IDs and fingerprints use. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export const FINGERPRINT_CHARS = 8;

/**
 * 48 bits of SHA-256 of the normalized email, as 8 base64url characters. Among 50,000 accounts
 * the chance that a new account shares an old one's fingerprint is about 1 in 5 billion.
 */
export const fingerprint = (email: string): string =>
  // The first 8 base64url characters of the digest are exactly its first 6 bytes. crypto.hash is
  // the one-shot form: about 8 times faster than createHash at 50,000 emails.
  hash('sha256', normalizeEmail(email), 'base64url').slice(0, FINGERPRINT_CHARS);

/** Fingerprints grouped by a label (a state), as `{label: "<fp><fp>..."}`, each group sorted. */
export type Groups = Record<string, string>;

/** Groups `states` (fingerprint → state) by the label of each state, each group sorted. */
export const packGroups = <T>(
  states: ReadonlyMap<string, T>,
  label: (state: T) => string,
): Groups => {
  const byLabel = new Map<string, string[]>();
  for (const [print, state] of states) {
    const key = label(state);
    const group = byLabel.get(key);
    if (group === undefined) {
      byLabel.set(key, [print]);
    } else {
      group.push(print);
    }
  }
  const groups: Groups = {};
  for (const key of [...byLabel.keys()].sort()) {
    groups[key] = (byLabel.get(key) ?? []).sort().join('');
  }
  return groups;
};

// Checked as characters and length apart: one regular expression of 8-character groups is 200
// times slower on the 400 KB of 50,000 fingerprints.
const FINGERPRINT_TEXT = /^[\w-]*$/;

/**
 * The fingerprint → state map of `groups`, each label read by `parse`; `undefined` when it is not
 * what packGroups writes (or `parse` refuses a label).
 */
export const unpackGroups = <T>(
  groups: unknown,
  parse: (label: string) => T | undefined,
): Map<string, T> | undefined => {
  if (typeof groups !== 'object' || groups === null || Array.isArray(groups)) {
    return undefined;
  }
  const states = new Map<string, T>();
  for (const [label, prints] of Object.entries(groups)) {
    const state = parse(label);
    if (
      state === undefined ||
      typeof prints !== 'string' ||
      prints.length % FINGERPRINT_CHARS !== 0 ||
      !FINGERPRINT_TEXT.test(prints)
    ) {
      return undefined;
    }
    for (let at = 0; at < prints.length; at += FINGERPRINT_CHARS) {
      states.set(prints.slice(at, at + FINGERPRINT_CHARS), state);
    }
  }
  return states;
};

/** `value[key]` when `value` is an object, else `undefined`: for reading back stored memory. */
export const propertyOf = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Reflect.get(value, key)
    : undefined;

/** How long an unused memory lives: a Zap that polls keeps it fresh (see REFRESH_MS). */
export const MEMORY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * An unchanged memory is written again after this long, so that it never nears its TTL (and a
 * platform cap on TTLs shorter than ours, which Zapier does not document, would have to be under
 * an hour to matter). Between refreshes, unchanged memory costs no write at all.
 */
export const REFRESH_MS = 3600 * 1000;

/** What a trigger remembers between polls of one Zap, on one connection. */
export interface TriggerMemory {
  /** The value stored by the last save, or `undefined` (never saved, expired or lost). */
  load: () => Promise<unknown>;
  /**
   * Stores the value (skipped when it is the loaded one and still fresh). With `confirm` it reads
   * the value back: Zapier may drop a write without an error (its cache rate limit), and some
   * writes must be known to have landed. Answers whether the value is known to be stored.
   */
  save: (value: Json, confirm: boolean) => Promise<boolean>;
}

/**
 * The memory of `trigger` for this Zap (bundle.meta.zap.id) on this connection (the cache's `auth`
 * scope, and the Base URL, so that a connection moved to another site starts afresh), under
 * `name` (what else tells memories apart, such as the threshold).
 */
export const triggerMemory = (
  z: ZObject,
  bundle: Bundle,
  connection: Connection,
  trigger: string,
  name: string,
): TriggerMemory => {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- still the only Zap identifier
  const zap = bundle.meta.zap?.id ?? 'no-zap';
  const cache = openCache(z, {
    scope: ['auth'],
    namespace: ['poll', trigger, connection.provider.id, connection.baseUrl, zap],
  });
  let loaded: { at: number; text: string } | undefined;
  return {
    load: async () => {
      const stored = await cache.get(name);
      const at = propertyOf(stored, 'at');
      const value = propertyOf(stored, 'value');
      loaded = typeof at === 'number' ? { at, text: JSON.stringify(value) } : undefined;
      return loaded === undefined ? undefined : value;
    },
    save: async (value, confirm) => {
      const now = Date.now();
      const text = JSON.stringify(value);
      if (loaded !== undefined && loaded.text === text && now - loaded.at < REFRESH_MS) {
        return true;
      }
      const stored = { at: now, value };
      await cache.set(name, stored, MEMORY_TTL_SECONDS);
      if (!confirm) {
        return true;
      }
      return JSON.stringify(await cache.get(name)) === JSON.stringify(stored);
    },
  };
};
