/**
 * What the polling triggers remember between polls, in a form small enough for z.cache at the
 * scale of a white-label site (50,000 accounts): each account is an 8-character fingerprint of its
 * email, never the email itself, and accounts that share a state share one string.
 */
import { createHash } from 'node:crypto';
import type { Bundle, ZObject } from 'zapier-platform-core';

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

// Placeholder until the shared cache module lands (issue 10): per Zap and per connection.
const keyOf = (bundle: Bundle, parts: readonly string[]): string =>
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- still the only Zap identifier
  ['whitelabel-users', bundle.meta.zap?.id ?? 'no-zap', ...parts].join(':');

export const loadMemory = async (
  z: ZObject,
  bundle: Bundle,
  parts: readonly string[],
): Promise<unknown> => {
  const value: unknown = await z.cache.get(keyOf(bundle, parts));
  return value;
};

export const saveMemory = async (
  z: ZObject,
  bundle: Bundle,
  parts: readonly string[],
  value: unknown,
): Promise<boolean> => (await z.cache.set(keyOf(bundle, parts), value, 30 * 24 * 3600)) === true;
