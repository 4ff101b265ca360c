/**
 * Event Time: events applied in the order they happened, not the order they arrive.
 *
 * Payment tools deliver events out of order and Zapier runs each delivery on its own, at the same
 * time as the others. With an Event Time mapped, Add User, Change Role and Remove User keep, per
 * user (normalized email), one clock in Zapier's cache (per connection, provider and Base URL):
 * the newest Event Time applied. Each run, under a short per-user lock:
 *
 * 1. claims the lock (set-if-absent, {@link LOCK_TTL_SECONDS}); taken: ThrottledError, so Zapier
 *    retries the run after {@link lockRetrySeconds} and nothing was sent;
 * 2. reads the clock; an Event Time strictly older than it sends nothing and succeeds with
 *    `stale: true` and a note naming the newer event's time;
 * 3. otherwise runs the step, then moves the clock to its Event Time (only forward), when the
 *    step succeeded or failed after a write that may have been applied (client.ts, Effect);
 * 4. releases the lock, on every path (a release that fails expires with the TTL).
 *
 * Cache entries (src/cache.ts, scope `auth`: every Zap on the connection shares them):
 * - clock `event-clock:<provider>:<Base URL>:<email>` = `{at, by}`: the newest Event Time applied
 *   (epoch ms) and the step that applied it; lives {@link CLOCK_TTL_SECONDS} from its last move;
 * - lock `event-lock:<provider>:<Base URL>:<email>` = `{run, since}` while a run holds it.
 *
 * Zapier's cache unreachable: nothing is sent, and the run asks Zapier to retry it
 * (ThrottledError, {@link CACHE_RETRY_SECONDS}): an event whose order was asked for is never
 * applied blindly. A step without an Event Time never touches the cache.
 *
 * With the Idempotency Key (Add User), ordering wraps the whole step, so the key's claim runs
 * inside the lock: a duplicate that arrives while the first delivery runs waits for the lock and
 * then replays; a replay changes nothing, so the clock (already at its Event Time) does not move.
 *
 * The retry after a delay: zapier-platform-core's src/errors.js defines
 * `ThrottledError(message, delay)` (serialized as `{message, delay}`, delay in seconds), and
 * zapier-platform-schema's lib/schemas/ThrottleObjectSchema.js documents that "throttled tasks are
 * automatically retried after some delay" (its `retry` defaults to true for actions). A plain
 * z.errors.Error would only be reported to the owner; a HaltedError would drop the event.
 */
import { randomInt, randomUUID } from 'node:crypto';

import { defineInputField } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { openCache } from './cache';
import type { Cache } from './cache';
import { apiFor, effectSoFar } from './client';
import type { RouteName } from './providers';
import { invalid, isoTime, readEmail, readText, show } from './fields';
import { KEY_TTL_SECONDS } from './idempotency';

/**
 * How a number is told apart: up to 11 digits before any decimal point is Unix seconds (10 digits
 * today, until the year 5138), 12 or more is Unix milliseconds (13 today, 12 until 1973).
 */
export const MILLISECONDS_FROM = 100_000_000_000;

const EVENT_TIME_HELP =
  'ISO 8601 such as 2025-06-01T10:00:05Z (without an offset it is UTC), Unix seconds such as 1748772005 (Stripe\'s "created"), or Unix milliseconds such as 1748772005000: a number of up to 11 digits is read as seconds, 12 or more as milliseconds.';

export const eventTimeField = defineInputField({
  key: 'eventTime',
  label: 'Event Time',
  type: 'string',
  required: false,
  helpText: `Optional. When the event behind this step happened: map the event's own creation time (for Stripe, the event's Created), never the time the Zap ran. A step whose Event Time is older than the newest one already applied to this user sends nothing and finishes with Stale = yes, so a late plan change or cancellation never overwrites a newer one. ${EVENT_TIME_HELP} Leave empty to apply every run as it comes.`,
});

/** What every run of a step with the Event Time field returns (false/null when applied). */
export const staleOutputFields = [
  { key: 'stale', label: 'Stale', type: 'boolean' },
  { key: 'staleNote', label: 'Stale Note', type: 'string' },
] as const;

export interface Staleness {
  stale: boolean;
  staleNote: string | null;
}

/**
 * The clock lives as long as an Idempotency Key: an older event can come back as long as the
 * same delivery can (a Zap run can be replayed for up to 69 days; Stripe retries for 3 days).
 */
export const CLOCK_TTL_SECONDS = KEY_TTL_SECONDS;

/**
 * A lock outlives the longest run (Zapier stops a step after 30 s), so a live run never loses it,
 * and a crashed run's lock expires within a minute.
 */
export const LOCK_TTL_SECONDS = 45;

/** A run that finds the lock taken is retried after 10 to 20 seconds (spread, not in step). */
export const LOCK_RETRY_SECONDS = { min: 10, max: 20 } as const;

const lockRetrySeconds = (): number =>
  randomInt(LOCK_RETRY_SECONDS.min, LOCK_RETRY_SECONDS.max + 1);

/** Zapier's cache unreachable: retry after a minute. */
const CACHE_RETRY_SECONDS = 60;

/** Events before this are a mapping mistake (an amount, an ID, a zero), not an event's time. */
const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);

/** How far ahead of now an Event Time may be (clocks disagree), and no more. */
const MAX_AHEAD_MS = 24 * 60 * 60 * 1000;

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const UNIX_TIME = /^(\d+)(?:\.(\d+))?$/;

/** Milliseconds from the digits of a fraction of a second: "5" is 500, "123456" is 123. */
const fractionMs = (digits: string | undefined): number =>
  Number((digits ?? '').padEnd(3, '0').slice(0, 3));

const offsetMs = (zone: string | undefined): number | undefined => {
  if (zone === undefined || zone.toUpperCase() === 'Z') {
    return 0;
  }
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) {
    return undefined;
  }
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
};

const parseIso = (text: string): number | undefined => {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) {
    return undefined;
  }
  // Seconds may be left out; every other part is there when the pattern matches.
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((group) => Number(match[group] ?? '0'));
  const utc = Date.UTC(Number(y), Number(mo) - 1, d, h, mi, s, fractionMs(match[7]));
  const date = new Date(utc);
  // Date.UTC rolls February 30 over to March 2, and 24:00 to the next day: a real time reads back.
  const real =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() + 1 === mo &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  const offset = offsetMs(match[8]);
  return real && offset !== undefined ? utc - offset : undefined;
};

const parseUnix = (text: string): number | undefined => {
  const match = UNIX_TIME.exec(text);
  if (match === null) {
    return undefined;
  }
  const whole = Number(match[1]);
  // Milliseconds drop any fraction; seconds keep it to the millisecond.
  return whole >= MILLISECONDS_FROM ? whole : whole * 1000 + fractionMs(match[2]);
};

/**
 * An Event Time as epoch milliseconds; `undefined` when empty. Anything unreadable, before 2000
 * or more than a day ahead of now is refused, naming Event Time and quoting the value.
 */
export const readEventTime = (z: ZObject, value: unknown, now = Date.now()): number | undefined => {
  const text = readText(value);
  if (text === undefined) {
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw invalid(z, 'Event Time', `expected a date and time or a number, got ${typeof value}.`);
    }
    return undefined;
  }
  const at = parseUnix(text) ?? parseIso(text);
  if (at === undefined || !Number.isSafeInteger(at)) {
    throw invalid(
      z,
      'Event Time',
      `${show(text)} is not a time this step can read. Map the event's creation time: ${EVENT_TIME_HELP}`,
    );
  }
  if (at < EARLIEST_EVENT_MS) {
    throw invalid(
      z,
      'Event Time',
      `${show(text)} reads as ${isoTime(new Date(at))}, before 2000: that is not when an event happened. Map the event's creation time.`,
    );
  }
  if (at > now + MAX_AHEAD_MS) {
    throw invalid(
      z,
      'Event Time',
      `${show(text)} reads as ${isoTime(new Date(at))}, more than a day in the future. Map the event's creation time, not a due date or an expiry.`,
    );
  }
  return at;
};

interface Clock {
  /** The newest Event Time applied, epoch ms. */
  at: number;
  /** The step that applied it. */
  by: string;
}

const readClock = (value: unknown): Clock | undefined => {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const at: unknown = Reflect.get(value, 'at');
  const by: unknown = Reflect.get(value, 'by');
  return typeof at === 'number' && Number.isSafeInteger(at) && typeof by === 'string'
    ? { at, by }
    : undefined;
};

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const unreachable = (z: ZObject, error: unknown): Error =>
  new z.errors.ThrottledError(
    `Event Time: Zapier's cache, which keeps the order of events, could not be reached, so nothing was sent. Zapier will retry this run in ${CACHE_RETRY_SECONDS} seconds. (${reason(error)})`,
    CACHE_RETRY_SECONDS,
  );

/** Claims the user's lock, or throws a ThrottledError: taken by another run, or no cache. */
const lock = async (z: ZObject, locks: Cache, email: string): Promise<void> => {
  const run = randomUUID();
  let holder: unknown;
  try {
    if (await locks.claim(email, { run, since: new Date().toISOString() }, LOCK_TTL_SECONDS)) {
      return;
    }
    holder = await locks.get(email);
  } catch (error) {
    throw unreachable(z, error);
  }
  const field = (key: string): unknown =>
    typeof holder === 'object' && holder !== null ? Reflect.get(holder, key) : undefined;
  // The platform retries an RPC call that failed on its side: a claim that did succeed can come
  // back as "taken", by this very run.
  if (field('run') === run) {
    return;
  }
  const since = field('since');
  const delay = lockRetrySeconds();
  throw new z.errors.ThrottledError(
    `Event Time: another run is applying an event to ${email}${typeof since === 'string' ? ` (since ${since})` : ''}, so this one sent nothing yet. Zapier will retry it in ${delay} seconds, and it is applied then unless a newer event was applied first.`,
    delay,
  );
};

const logCacheFailure = (z: ZObject, doing: string, error: unknown): void => {
  z.console.log(`Event Time: could not ${doing} in Zapier's cache: ${reason(error)}`);
};

export interface OrderedStep<T> {
  /** The step's label, named in the note of a later stale run. */
  label: string;
  /** The routes the step needs: a connection without them fails before any cache call. */
  routes: readonly RouteName[];
  /** What a stale run returns besides `stale` and `staleNote`: the step's keys, nothing applied. */
  skipped: (who: { provider: string; email: string }) => T;
}

type Perform<I extends Record<string, unknown>, T> = (z: ZObject, bundle: Bundle<I>) => Promise<T>;

/**
 * Wraps a step's perform: with an Event Time mapped, it runs in the order of Event Times (see the
 * top of this file); without one, exactly as before. Every run returns `stale` and `staleNote`.
 */
export const inEventOrder =
  <I extends Record<string, unknown>, T extends object>(
    step: OrderedStep<T>,
    perform: Perform<I, T>,
  ): Perform<I, T & Staleness> =>
  async (z, bundle) => {
    const applied = (output: T): T & Staleness => ({ ...output, stale: false, staleNote: null });
    const time = readEventTime(z, bundle.inputData.eventTime);
    if (time === undefined) {
      return applied(await perform(z, bundle));
    }
    // Checks the connection and the provider's routes before the lock (and any cache call).
    const { provider, baseUrl } = apiFor(z, bundle, step.label, step.routes).connection;
    const email = readEmail(z, bundle.inputData.email).toLowerCase();
    const space = (purpose: string): Cache =>
      openCache(z, { scope: ['auth'], namespace: [purpose, provider.id, baseUrl] });
    const clocks = space('event-clock');
    const locks = space('event-lock');

    await lock(z, locks, email);
    try {
      let clock: Clock | undefined;
      try {
        clock = readClock(await clocks.get(email));
      } catch (error) {
        throw unreachable(z, error);
      }
      if (clock !== undefined && time < clock.at) {
        return {
          ...step.skipped({ provider: provider.id, email }),
          stale: true,
          staleNote: `Not applied: a newer event for ${email}, of ${isoTime(new Date(clock.at))}, was already applied (${clock.by}); this event is of ${isoTime(new Date(time))}, so nothing was sent.`,
        };
      }
      const advance = async (): Promise<void> => {
        if (clock !== undefined && clock.at >= time) {
          return;
        }
        try {
          await clocks.set(email, { at: time, by: step.label }, CLOCK_TTL_SECONDS);
        } catch (error) {
          logCacheFailure(z, 'record this Event Time as applied', error);
        }
      };
      let output: T;
      try {
        output = await perform(z, bundle);
      } catch (error) {
        // A write that may have been applied counts: a late older event must not undo it.
        if (effectSoFar(z) !== 'none') {
          await advance();
        }
        throw error;
      }
      await advance();
      return applied(output);
    } finally {
      try {
        await locks.delete(email);
      } catch (error) {
        logCacheFailure(
          z,
          `release the lock (it expires within ${LOCK_TTL_SECONDS} seconds)`,
          error,
        );
      }
    }
  };
