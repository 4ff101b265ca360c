/**
 * The Idempotency Key of Add User and Provision Credits: exactly one write per key.
 *
 * A run with a key first claims it in Zapier's cache (set-if-absent), then sends. The key's entry
 * (src/cache.ts; per Zapier account and connection, provider, Base URL and action) is:
 * - `pending` while a run sends: a duplicate arriving meanwhile halts (HaltedError: the earlier
 *   run is handling it and reports its own outcome) and sends nothing;
 * - `done` once it finished, with its output (minus secrets): a duplicate returns that output,
 *   marked as a replay, and sends nothing;
 * - `unknown` when it failed after a write may have been applied (the request helper decides
 *   that: Api.effect in client.ts): a duplicate fails (z.errors.Error, so the owner hears of it),
 *   sends nothing, and asks the owner to check the account;
 * - gone when it failed with nothing applied (refused by the API, connection refused), so that
 *   Zapier's retry or a replay can claim it again; and after {@link KEY_TTL_SECONDS}.
 *
 * A step that can apply a change twice when replayed (a credit grant) gets the same guard without
 * a key: only a failed run whose write may have been applied is remembered, under the request's
 * digest, for
 * {@link GUARD_TTL_SECONDS}, so that Zapier's replay of a "may have been applied" error sends
 * nothing (see {@link Delivery.guard}).
 */
import { createHash, randomUUID } from 'node:crypto';

import { defineInputField } from 'zapier-platform-core';
import type { ZObject } from 'zapier-platform-core';

import { openCache } from './cache';
import type { Cache, Json } from './cache';
import type { Api } from './client';
import { characters, invalid, readText, show } from './fields';

export const idempotencyKeyField = defineInputField({
  key: 'idempotencyKey',
  label: 'Idempotency Key',
  type: 'string',
  required: false,
  helpText:
    "Optional. Map the unique ID of the payment or event behind this step (a Stripe payment intent or event ID, a form submission ID). A run whose key already ran sends nothing and returns the first run's result, so a payment delivered twice is handled once. Use a different key in each step of a Zap.",
});

/**
 * The outputs every run of a step with an Idempotency Key field adds, with a key or without
 * (then false and null): whether this run only replayed an earlier one, and what that means.
 */
export const replayOutputFields = [
  { key: 'replayed', label: 'Replayed', type: 'boolean' },
  { key: 'replayNote', label: 'Replay Note', type: 'string' },
] as const;

/**
 * How long a key is remembered: 70 days. Zapier keeps a Zap run, and so lets it be replayed, for
 * 29 to 69 days; Stripe retries a webhook for up to 3 days and autoreplay for about 11 hours. A
 * key must outlive every way the same delivery can come back.
 */
export const KEY_TTL_SECONDS = 70 * 24 * 60 * 60;

/**
 * A run is stopped by Zapier after 30 seconds, so a `pending` entry older than this belongs to a
 * run that died without recording its outcome (which may have been applied).
 */
export const PENDING_STALE_MS = 60_000;

/** Keys as long as Stripe's own idempotency keys; anything longer is a mapping mistake. */
export const MAX_KEY_CHARS = 255;

type Primitive = string | number | boolean | null;
export type Output = Readonly<Record<string, Primitive>>;

export interface Delivery {
  /** The action's key (`add_user`): one action's key never replays another's. */
  action: string;
  /** The Idempotency Key as mapped; empty means none. */
  key: unknown;
  /** The checked inputs that make the request: the same key with others is refused. */
  request: Json;
  /** Output fields never kept in the cache, [key, label]: a replay gives them empty, and says so. */
  secrets?: readonly (readonly [string, string])[];
  /**
   * Sending this request again after a lost answer could apply it twice (Provision Credits, Add).
   * Without an Idempotency Key, a run whose write may have been applied is then remembered, and
   * the same request is refused until the owner has checked (see the top of this file).
   */
  guard?: boolean;
}

/**
 * How long a keyless "may have been applied" is remembered: a day, longer than Zapier's
 * Autoreplay keeps replaying an errored run (about 11 hours). Within it, the same request for the
 * same account is refused and says why; a key (the payment's ID) tells real repeats apart.
 */
export const GUARD_TTL_SECONDS = 24 * 60 * 60;

type Entry =
  | { state: 'pending'; run: string; request: string; since: string }
  | { state: 'done'; request: string; at: string; output: Output; withheld: string[] }
  | { state: 'unknown'; request: string; at: string };

/** Reads an Idempotency Key input: trimmed, `undefined` when empty, refused when too long. */
const readIdempotencyKey = (z: ZObject, value: unknown): string | undefined => {
  const key = readText(value);
  if (key !== undefined && characters(key).length > MAX_KEY_CHARS) {
    throw invalid(
      z,
      'Idempotency Key',
      `is ${characters(key).length} characters long; the limit is ${MAX_KEY_CHARS}. Map an ID, such as the payment's.`,
    );
  }
  return key;
};

const requestDigest = (request: Json): string =>
  createHash('sha256').update(JSON.stringify(request)).digest('base64url');

const isPrimitive = (value: unknown): value is Primitive =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

const stringAt = (value: object, key: string): string | undefined => {
  const field: unknown = Reflect.get(value, key);
  return typeof field === 'string' ? field : undefined;
};

const outputOf = (value: unknown): Output | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return undefined;
  }
  const entries = Object.entries(value).map(([key, field]: [string, unknown]) => [key, field]);
  const primitives = entries.filter((entry): entry is [string, Primitive] => isPrimitive(entry[1]));
  return primitives.length === entries.length ? Object.fromEntries(primitives) : undefined;
};

/** An entry as stored; `undefined` when there is none, `unreadable` for anything else. */
const readEntry = (value: unknown): Entry | 'unreadable' | undefined => {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) {
    return 'unreadable';
  }
  const state = stringAt(value, 'state');
  const request = stringAt(value, 'request');
  const run = stringAt(value, 'run');
  const since = stringAt(value, 'since');
  const at = stringAt(value, 'at');
  const output = outputOf(Reflect.get(value, 'output'));
  const withheld: unknown = Reflect.get(value, 'withheld');
  if (request === undefined) {
    return 'unreadable';
  }
  if (state === 'pending' && run !== undefined && since !== undefined) {
    return { state, run, request, since };
  }
  if (
    state === 'done' &&
    at !== undefined &&
    output !== undefined &&
    Array.isArray(withheld) &&
    withheld.every((label) => typeof label === 'string')
  ) {
    return { state, request, at, output, withheld: withheld.map(String) };
  }
  return state === 'unknown' && at !== undefined ? { state, request, at } : 'unreadable';
};

const entryJson = (entry: Entry): Json =>
  entry.state === 'done'
    ? { ...entry, output: { ...entry.output }, withheld: [...entry.withheld] }
    : { ...entry };

const checkTheAccount =
  'Check the account: if the change is missing, make it by hand, or map a new Idempotency Key (for example the same ID plus "-2") and replay this run.';

/**
 * What a run that could not claim the key answers: the first run's output; a halt only while an
 * earlier delivery is handling it (that one reports its own outcome); else an error that reaches
 * the owner, since nothing was sent and something may be left to do.
 */
const answerTaken = (
  z: ZObject,
  key: string,
  request: string,
  entry: Entry | 'unreadable' | undefined,
): Output => {
  const named = `Idempotency Key ${show(key)}`;
  if (entry === undefined) {
    // Taken a moment ago and gone now (released or expired), or a claim Zapier refused: this run
    // sent nothing, and nobody may have done it. An error, so that Zapier reports and may replay
    // it: the replay claims the key or finds its result.
    throw new z.errors.Error(
      `${named}: a delivery with this key is in progress or has just ended, so this one sent nothing. Replay this run in a minute: it will return that delivery's result, or make the change.`,
      'IdempotencyKeyBusy',
    );
  }
  if (entry === 'unreadable') {
    throw new z.errors.Error(
      `${named}: Zapier's cache holds something for this key that is not this integration's record, so this run sent nothing. ${checkTheAccount}`,
      'IdempotencyKeyUnreadable',
    );
  }
  if (entry.request !== request) {
    throw new z.errors.Error(
      `${named} was already used at ${entry.state === 'pending' ? entry.since : entry.at} for a different request (other values in this step), so this one sent nothing. Map a key that is unique to each payment and step.`,
      'IdempotencyKeyReused',
    );
  }
  if (entry.state === 'done') {
    const note =
      entry.withheld.length === 0
        ? ''
        : ` ${entry.withheld.join(', ')}: given only by that run, so empty here.`;
    return {
      ...entry.output,
      replayed: true,
      replayNote: `Replayed the run of ${entry.at} with this Idempotency Key: nothing was sent now, and these values are that run's.${note}`,
    };
  }
  if (entry.state === 'pending' && Date.now() - Date.parse(entry.since) < PENDING_STALE_MS) {
    throw new z.errors.HaltedError(
      `${named}: a delivery with this key is in progress (since ${entry.since}), so this one sent nothing. Replay this run once that one has finished: it will return its result.`,
    );
  }
  const when = entry.state === 'pending' ? entry.since : entry.at;
  throw new z.errors.Error(
    `${named}: the run of ${when} with this key may have applied its change without recording its result, so this run sent nothing. ${checkTheAccount}`,
    'MaybeApplied',
  );
};

/** Reports a cache failure in the step's log; the step's own outcome stands. */
const logCacheFailure = (z: ZObject, doing: string, error: unknown) => {
  z.console.log(
    `Could not ${doing} in Zapier's cache: ${error instanceof Error ? error.message : String(error)}`,
  );
};

/**
 * A keyless run of a step that a replay could apply twice: refused when a failed run of the same
 * request may have applied it within {@link GUARD_TTL_SECONDS}; remembered when this one failed
 * after a write that was, or may have been, applied. When
 * the cache cannot be read, the run goes ahead as it would without the guard (and says so in its
 * log): the guard must not stop every payment while Zapier's cache is down.
 */
const guarded = async <T extends Output>(
  z: ZObject,
  api: Api,
  delivery: Delivery,
  send: () => Promise<T>,
): Promise<Output> => {
  const { provider, baseUrl } = api.connection;
  const cache: Cache = openCache(z, {
    scope: ['user', 'auth'],
    namespace: ['maybe-applied', provider.id, baseUrl, delivery.action],
  });
  const name = requestDigest(delivery.request);
  let held: unknown;
  try {
    held = await cache.get(name);
  } catch (error) {
    logCacheFailure(z, 'check for an earlier run that may have applied this change', error);
  }
  const at = typeof held === 'object' && held !== null ? stringAt(held, 'at') : undefined;
  if (held !== undefined) {
    throw new z.errors.Error(
      `A run of this same step with these values${at === undefined ? '' : ` at ${at}`} may have applied its change without an answer, so this one sent nothing. Check the account: if the change is missing, make it by hand. Map an Idempotency Key (the payment's ID) so that each payment is told apart.`,
      'MaybeApplied',
    );
  }
  try {
    return await send();
  } catch (error) {
    // Applied and then failed (an answer without the account), or perhaps applied: either way a
    // replay must not send it again.
    if (api.effect() !== 'none') {
      try {
        await cache.set(name, { at: new Date().toISOString() }, GUARD_TTL_SECONDS);
      } catch (cacheError) {
        logCacheFailure(z, 'remember that this change may have been applied', cacheError);
      }
    }
    throw error;
  }
};

/** Runs `send` at most once per Idempotency Key (see the top of this file); as is without one. */
export const once = async <T extends Output>(
  z: ZObject,
  api: Api,
  delivery: Delivery,
  send: () => Promise<T>,
): Promise<Output> => {
  const key = readIdempotencyKey(z, delivery.key);
  if (key === undefined) {
    // The same keys as a run with a key, so that the sample's keys are in every result.
    const output = await (delivery.guard === true ? guarded(z, api, delivery, send) : send());
    return { ...output, replayed: false, replayNote: null };
  }
  const { provider, baseUrl } = api.connection;
  const cache: Cache = openCache(z, {
    scope: ['user', 'auth'],
    namespace: ['idempotency', provider.id, baseUrl, delivery.action],
  });
  const request = requestDigest(delivery.request);
  const run = randomUUID();
  const pending: Entry = { state: 'pending', run, request, since: new Date().toISOString() };
  let claimed: boolean;
  let taken: Entry | 'unreadable' | undefined;
  try {
    claimed = await cache.claim(key, entryJson(pending), KEY_TTL_SECONDS);
    taken = claimed ? undefined : readEntry(await cache.get(key));
  } catch (error) {
    throw new z.errors.Error(
      `Zapier's cache could not be reached to check the Idempotency Key, so nothing was sent. Try again later. (${error instanceof Error ? error.message : String(error)})`,
      'IdempotencyCacheUnavailable',
    );
  }
  // The platform retries an RPC call that failed on its side, so a claim that did succeed can
  // come back as "taken": by our own run.
  const ours = typeof taken === 'object' && taken.state === 'pending' && taken.run === run;
  if (!claimed && !ours) {
    return answerTaken(z, key, request, taken);
  }
  let output: T;
  try {
    output = await send();
  } catch (error) {
    const unknown: Entry = { state: 'unknown', request, at: new Date().toISOString() };
    try {
      await (api.effect() === 'none'
        ? cache.delete(key)
        : cache.set(key, entryJson(unknown), KEY_TTL_SECONDS));
    } catch (cacheError) {
      logCacheFailure(z, 'record the outcome of this run', cacheError);
    }
    throw error;
  }
  const secrets = (delivery.secrets ?? []).filter(([field]) => (output[field] ?? null) !== null);
  const kept = Object.fromEntries(
    Object.entries(output).map(([field, value]) => [
      field,
      secrets.some(([secret]) => secret === field) ? null : value,
    ]),
  );
  const done: Entry = {
    state: 'done',
    request,
    at: new Date().toISOString(),
    output: kept,
    withheld: secrets.map(([, label]) => label),
  };
  try {
    await cache.set(key, entryJson(done), KEY_TTL_SECONDS);
  } catch (error) {
    logCacheFailure(z, 'record this run as done', error);
  }
  return { ...output, replayed: false, replayNote: null };
};
