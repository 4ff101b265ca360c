/**
 * Dates and times as a person types or maps them, read in the Zap's time zone
 * (`bundle.meta.timezone`), for fields declared as text (Find Usage's From and To).
 *
 * Why not `type: 'datetime'`: Zapier converts such a field before perform runs, and gives a date
 * without a time 09:00 in the Zap's time zone, and an unreadable value the current time; the
 * CLI's `invoke` does the same (zapier-platform-cli, invoke/input-types.js). As text the value
 * arrives as typed, and this module decides what it means:
 * - a date (`2025-06-01`, `2025/06/01`, `June 1, 2025`, `1 Jun 2025`, `today`, `yesterday`,
 *   `tomorrow`, `last monday`, `3 days ago`, `2 weeks ago`) is a whole day: its start for a
 *   period's start, its end (the last second) for a period's end;
 * - a date and time without an offset (`2025-06-01 14:30`, `2025-06-01T14:30:00`) is that wall
 *   time in the Zap's time zone; with an offset or `Z` it is exact, and so are `now`,
 *   `3 hours ago`, `45 minutes ago` and Unix timestamps (10 digits: seconds, 13: milliseconds);
 * - anything else is refused, quoting it.
 * Time zones come from Node's Intl (full ICU in Node 22), so no date library ships to Lambda.
 */
import type { ZObject } from 'zapier-platform-core';

import { invalid, show } from './fields';

/** Whether a day stands for its first moment (a period's start) or its last (a period's end). */
export type Edge = 'start' | 'end';

export const DEFAULT_ZONE = 'UTC';

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The IANA time zone to read dates in: the Zap's when Intl knows it, else UTC. */
export const zoneOf = (timezone: unknown): string => {
  if (typeof timezone !== 'string' || timezone.trim() === '') {
    return DEFAULT_ZONE;
  }
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone.trim() }).resolvedOptions()
      .timeZone;
  } catch {
    return DEFAULT_ZONE;
  }
};

/**
 * The Zap's time zone from a bundle (`bundle.meta.timezone`). The typings promise `meta`, yet the
 * app tester and some callers leave it out, so it is read defensively.
 */
export const zoneOfBundle = (bundle: object): string => {
  const meta: unknown = Reflect.get(bundle, 'meta');
  return zoneOf(
    typeof meta === 'object' && meta !== null ? Reflect.get(meta, 'timezone') : undefined,
  );
};

const formatterOf = (zone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
};

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock in `zone` at `epoch`. */
const wallAt = (zone: string, epoch: number): Wall => {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterOf(zone).formatToParts(new Date(epoch))) {
    if (Object.hasOwn(wall, part.type)) {
      Reflect.set(wall, part.type, Number(part.value));
    }
  }
  return wall;
};

const asUtc = (wall: Wall): number =>
  Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);

/** The offset of `zone` from UTC at `epoch`, in milliseconds. */
const offsetAt = (zone: string, epoch: number): number => {
  const whole = Math.floor(epoch / 1000) * 1000;
  return asUtc(wallAt(zone, whole)) - whole;
};

/**
 * The instant when the wall clock in `zone` shows `wall`. A wall time skipped by a daylight
 * saving change gets the offset from before the change (so it lands just after the gap).
 */
export const instantOf = (zone: string, wall: Wall, ms = 0): number => {
  const guess = asUtc(wall) + ms;
  const first = guess - offsetAt(zone, guess);
  return guess - offsetAt(zone, first);
};

/** The first and the last second of the day `date` (a UTC midnight naming the day) in `zone`. */
const dayEdge = (zone: string, date: number, edge: Edge): number => {
  return edge === 'start'
    ? instantOf(zone, wallFrom(date))
    : instantOf(zone, wallFrom(date + DAY_MS)) - 1000;
};

/** Today in `zone`, as the UTC midnight that names the day. */
const todayIn = (zone: string, now: number): number => {
  const wall = wallAt(zone, now);
  return Date.UTC(wall.year, wall.month - 1, wall.day);
};

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** The month (1 to 12) a name or its first three letters means. */
const monthOf = (name: string): number | undefined => {
  const index = MONTHS.findIndex(
    (month) => month === name || (name.length >= 3 && month.startsWith(name.replace(/\.$/u, ''))),
  );
  return index < 0 ? undefined : index + 1;
};

/** The UTC midnight naming a calendar day; `undefined` when there is no such day. */
const calendarDay = (year: number, month: number, day: number): number | undefined => {
  const date = Date.UTC(year, month - 1, day);
  const check = new Date(date);
  return check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day
    ? date
    : undefined;
};

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?$/u;
const SLASHED = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/u;
const DAY_MONTH_YEAR = /^(\d{1,2})(?:st|nd|rd|th)? ([a-z]+\.?),? (\d{4})$/u;
const MONTH_DAY_YEAR = /^([a-z]+\.?) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$/u;
const AGO = /^(\d{1,4}) (minute|hour|day|week)s? ago$/u;
const TIMESTAMP = /^(\d{10}|\d{13})$/u;

const offsetMs = (zone: string): number => {
  if (zone === 'z') {
    return 0;
  }
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return (zone.startsWith('-') ? -minutes : minutes) * 60_000;
};

const readIso = (match: RegExpExecArray, zone: string, edge: Edge): number | undefined => {
  const [, year, month, day, hour, minute, second = '0', fraction = '0', offset] = match;
  const date = calendarDay(Number(year), Number(month), Number(day));
  if (date === undefined) {
    return undefined;
  }
  if (hour === undefined || minute === undefined) {
    return offset === undefined ? dayEdge(zone, date, edge) : undefined;
  }
  const wall = {
    ...wallFrom(date),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  };
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) {
    return undefined;
  }
  const ms = Math.floor(Number(`0.${fraction}`) * 1000);
  return offset === undefined ? instantOf(zone, wall, ms) : asUtc(wall) + ms - offsetMs(offset);
};

const wallFrom = (date: number): Wall => {
  const at = new Date(date);
  return {
    year: at.getUTCFullYear(),
    month: at.getUTCMonth() + 1,
    day: at.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  };
};

/** Epoch milliseconds of `text` read in `zone` at `edge`, relative to `now`; else undefined. */
export const parseMoment = (
  text: string,
  zone: string,
  edge: Edge,
  now: number,
): number | undefined => {
  const typed = text.trim().replace(/\s+/gu, ' ').toLowerCase();
  const today = todayIn(zone, now);
  const day = (date: number | undefined) =>
    date === undefined ? undefined : dayEdge(zone, date, edge);
  if (typed === 'now') {
    return now;
  }
  const relative = { today: 0, yesterday: -1, tomorrow: 1 }[typed];
  if (relative !== undefined) {
    return day(today + relative * DAY_MS);
  }
  const last = /^last ([a-z]+)$/u.exec(typed);
  const weekday = last === null ? -1 : WEEKDAYS.indexOf(last[1] ?? '');
  if (weekday >= 0) {
    const back = (new Date(today).getUTCDay() - weekday + 7) % 7 || 7;
    return day(today - back * DAY_MS);
  }
  const ago = AGO.exec(typed);
  if (ago !== null) {
    const count = Number(ago[1]);
    const unit = ago[2];
    return unit === 'minute' || unit === 'hour'
      ? now - count * (unit === 'minute' ? 60_000 : 3_600_000)
      : day(today - count * (unit === 'week' ? 7 : 1) * DAY_MS);
  }
  if (TIMESTAMP.test(typed)) {
    return typed.length === 13 ? Number(typed) : Number(typed) * 1000;
  }
  const iso = ISO.exec(typed);
  if (iso !== null) {
    return readIso(iso, zone, edge);
  }
  const slashed = SLASHED.exec(typed);
  if (slashed !== null) {
    return day(calendarDay(Number(slashed[1]), Number(slashed[2]), Number(slashed[3])));
  }
  const dmy = DAY_MONTH_YEAR.exec(typed);
  const mdy = dmy === null ? MONTH_DAY_YEAR.exec(typed) : null;
  const [dayText, monthText, yearText] =
    dmy !== null ? [dmy[1], dmy[2], dmy[3]] : mdy !== null ? [mdy[2], mdy[1], mdy[3]] : [];
  const month = monthText === undefined ? undefined : monthOf(monthText);
  return month === undefined
    ? undefined
    : day(calendarDay(Number(yearText), month, Number(dayText)));
};

/** What From and To accept, for help texts and refusals. */
export const MOMENT_HELP =
  'a date such as "2025-06-01", a date and time such as "2025-06-01 14:30" or "2025-06-01T14:30:00Z", a Unix timestamp, or words such as now, today, yesterday, last monday or 3 days ago';

/**
 * A point in time from what a person typed or mapped, in `zone`: a date stands for the start or
 * the end of that day (`edge`). `undefined` when empty; anything else halts, naming the field and
 * quoting the value.
 */
export const readMoment = (
  z: ZObject,
  value: unknown,
  label: string,
  options: { zone: string; edge: Edge; now: number },
): Date | undefined => {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return undefined;
  }
  const text = typeof value === 'number' ? String(value) : value;
  const epoch =
    typeof text === 'string'
      ? parseMoment(text, options.zone, options.edge, options.now)
      : undefined;
  if (epoch === undefined || !Number.isFinite(epoch)) {
    const shown = typeof text === 'string' ? show(text) : typeof value;
    throw invalid(
      z,
      label,
      `${shown} is not a date or time this step can read. Use ${MOMENT_HELP}.`,
    );
  }
  return new Date(epoch);
};
