/**
 * Dates as a person types them (src/dates.ts), read in a Zap's time zone with Node's Intl. The
 * clock is passed in, so each case is exact.
 */
import { DEFAULT_ZONE, instantOf, parseMoment, zoneOf, zoneOfBundle } from '../src/dates';
import type { Edge } from '../src/dates';

// Sunday 29 March 2026, 12:00 UTC: 14:00 in Berlin, the day it moved to summer time at 02:00.
const NOW = Date.parse('2026-03-29T12:00:00Z');

const at = (text: string, zone: string, edge: Edge = 'start', now = NOW): string | undefined => {
  const epoch = parseMoment(text, zone, edge, now);
  return epoch === undefined ? undefined : new Date(epoch).toISOString();
};

describe('parseMoment', () => {
  it.each([
    ['today', 'start', '2026-03-28T23:00:00.000Z'],
    ['today', 'end', '2026-03-29T21:59:59.000Z'],
    ['yesterday', 'start', '2026-03-27T23:00:00.000Z'],
    ['yesterday', 'end', '2026-03-28T22:59:59.000Z'],
    ['tomorrow', 'start', '2026-03-29T22:00:00.000Z'],
    ['now', 'end', '2026-03-29T12:00:00.000Z'],
    ['last sunday', 'start', '2026-03-21T23:00:00.000Z'],
    ['last friday', 'start', '2026-03-26T23:00:00.000Z'],
    ['2 days ago', 'start', '2026-03-26T23:00:00.000Z'],
    ['1 week ago', 'end', '2026-03-22T22:59:59.000Z'],
    ['3 hours ago', 'start', '2026-03-29T09:00:00.000Z'],
    ['90 minutes ago', 'start', '2026-03-29T10:30:00.000Z'],
    ['2026-03-29 02:30', 'start', '2026-03-29T01:30:00.000Z'],
    ['2026-03-29T03:30:00', 'start', '2026-03-29T01:30:00.000Z'],
    ['2026-03-29T03:30:00.250', 'start', '2026-03-29T01:30:00.250Z'],
    ['2026-03-29T03:30:00Z', 'start', '2026-03-29T03:30:00.000Z'],
    ['2026-03-29T03:30:00-0500', 'start', '2026-03-29T08:30:00.000Z'],
    ['2026-03-29T03:30+05', 'start', '2026-03-28T22:30:00.000Z'],
    ['2026-03-29 03:30:00 +05:30', 'start', '2026-03-28T22:00:00.000Z'],
    ['Sept 1, 2026', 'start', '2026-08-31T22:00:00.000Z'],
    ['2026/3/1', 'start', '2026-02-28T23:00:00.000Z'],
    ['1 March 2026', 'end', '2026-03-01T22:59:59.000Z'],
    ['Mar 1st, 2026', 'start', '2026-02-28T23:00:00.000Z'],
    ['march 1 2026', 'start', '2026-02-28T23:00:00.000Z'],
    ['1774785600', 'start', '2026-03-29T12:00:00.000Z'],
    ['1774785600000', 'start', '2026-03-29T12:00:00.000Z'],
    ['  Last   Sunday ', 'start', '2026-03-21T23:00:00.000Z'],
  ] as const)('reads %j at the %s in Berlin as %s', (text, edge, expected) => {
    expect(at(text, 'Europe/Berlin', edge)).toBe(expected);
  });

  it('reads a day of 23 hours to its end, across the change to summer time', () => {
    expect(at('2026-03-29', 'Europe/Berlin', 'start')).toBe('2026-03-28T23:00:00.000Z');
    expect(at('2026-03-29', 'Europe/Berlin', 'end')).toBe('2026-03-29T21:59:59.000Z');
  });

  it('reads "last monday" on a Monday as a week ago', () => {
    const monday = Date.parse('2026-03-30T12:00:00Z');
    expect(at('last monday', 'UTC', 'start', monday)).toBe('2026-03-23T00:00:00.000Z');
  });

  it("reads today as the Zap's day, not UTC's", () => {
    // 12:00 UTC is already the next day in Kiritimati (UTC+14) and still the same in Honolulu.
    expect(at('today', 'Pacific/Kiritimati')).toBe('2026-03-29T10:00:00.000Z');
    expect(at('today', 'Pacific/Honolulu')).toBe('2026-03-29T10:00:00.000Z');
    expect(at('today', 'Asia/Kolkata')).toBe('2026-03-28T18:30:00.000Z');
  });

  it.each([
    'asdf',
    '2026-02-30',
    '2026-13-01',
    '2026-03-29T24:00',
    '2026-03-29T10:60',
    '2026-03-29Z',
    '32 March 2026',
    'Smarch 1, 2026',
    'ma 1 2026',
    'last someday',
    '03/29/2026',
    '12345',
    '',
  ])('reads %j as nothing', (text) => {
    expect(at(text, 'UTC')).toBeUndefined();
  });
});

describe('zoneOf', () => {
  it.each([
    ['America/Chicago', 'America/Chicago'],
    [' Europe/Berlin ', 'Europe/Berlin'],
    ['Not/AZone', DEFAULT_ZONE],
    ['', DEFAULT_ZONE],
    [null, DEFAULT_ZONE],
    [42, DEFAULT_ZONE],
  ])('reads %j as %j', (value, zone) => {
    expect(zoneOf(value)).toBe(zone);
  });

  it("reads a bundle's meta.timezone, and UTC without meta", () => {
    expect(zoneOfBundle({ meta: { timezone: 'Asia/Tokyo' } })).toBe('Asia/Tokyo');
    expect(zoneOfBundle({ meta: null })).toBe(DEFAULT_ZONE);
    expect(zoneOfBundle({})).toBe(DEFAULT_ZONE);
  });
});

describe('instantOf', () => {
  it('puts a wall time skipped by summer time just after the gap', () => {
    const wall = { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 };
    expect(new Date(instantOf('Europe/Berlin', wall)).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });
});
