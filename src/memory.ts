/**
 * What the polling triggers remember between polls, in a form small enough for z.cache at the
 * scale of a white-label site (50,000 accounts): each account is an 8-character fingerprint of its
 * email, never the email itself, and accounts that share a state share one string.
 */
import { createHash } from 'node:crypto';
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
  createHash('sha256').update(normalizeEmail(email)).digest().subarray(0, 6).toString('base64url');

/** Fingerprints grouped by a label (a state), as `{label: "<fp><fp>..."}`, each group sorted. */
export type Groups = Record<string, string>;

export const packGroups = (labels: ReadonlyMap<string, string>): Groups => {
  const byLabel = new Map<string, string[]>();
  for (const [print, label] of labels) {
    const group = byLabel.get(label) ?? [];
    group.push(print);
    byLabel.set(label, group);
  }
  const groups: Groups = {};
  for (const label of [...byLabel.keys()].sort()) {
    groups[label] = (byLabel.get(label) ?? []).sort().join('');
  }
  return groups;
};

const FINGERPRINTS = new RegExp(`^(?:[A-Za-z0-9_-]{${String(FINGERPRINT_CHARS)}})*$`);

/** The fingerprint → label map of `groups`; `undefined` when it is not what packGroups writes. */
export const unpackGroups = (groups: unknown): Map<string, string> | undefined => {
  if (typeof groups !== 'object' || groups === null || Array.isArray(groups)) {
    return undefined;
  }
  const labels = new Map<string, string>();
  for (const [label, prints] of Object.entries(groups)) {
    if (typeof prints !== 'string' || !FINGERPRINTS.test(prints)) {
      return undefined;
    }
    for (let at = 0; at < prints.length; at += FINGERPRINT_CHARS) {
      labels.set(prints.slice(at, at + FINGERPRINT_CHARS), label);
    }
  }
  return labels;
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
