/**
 * Reading an Event Time (src/ordering.ts): every form the help text promises, and the refusals.
 * The clock and the lock are proven end to end in test/e2e/ordering.test.ts.
 */
import type { ZObject } from 'zapier-platform-core';

import { MILLISECONDS_FROM, eventTimeField, readEventTime } from '../src/ordering';
import { inApp, failure, messageOf } from './helpers';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

const read = (value: unknown): Promise<unknown> =>
  inApp((z: ZObject) => readEventTime(z, value, NOW), { authData: {}, inputData: {} });

describe('Event Time, as mapped', () => {
  it.each([
    ['2026-06-01T10:00:05Z', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01t10:00:05z', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01T10:00:05', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01 10:00', Date.UTC(2026, 5, 1, 10, 0, 0)],
    ['2026-06-01T10:00:05.5Z', Date.UTC(2026, 5, 1, 10, 0, 5, 500)],
    ['2026-06-01T10:00:05,123456Z', Date.UTC(2026, 5, 1, 10, 0, 5, 123)],
    ['2026-06-01T12:00:05+02:00', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01T15:30:05+0530', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01T05:00:05-05', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['2026-06-01T10:00:05 Z', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['1780308005', Date.UTC(2026, 5, 1, 10, 0, 5)],
    ['1780308005.25', Date.UTC(2026, 5, 1, 10, 0, 5, 250)],
    ['1780308005123', Date.UTC(2026, 5, 1, 10, 0, 5, 123)],
    ['1780308005123.9', Date.UTC(2026, 5, 1, 10, 0, 5, 123)],
    [' 1780308005 ', Date.UTC(2026, 5, 1, 10, 0, 5)],
    [1780308005, Date.UTC(2026, 5, 1, 10, 0, 5)],
  ])('reads %j', async (value, expected) => {
    await expect(read(value)).resolves.toBe(expected);
  });

  it.each([undefined, null, '', '   '])('%j is no Event Time', async (value) => {
    await expect(read(value)).resolves.toBeUndefined();
  });

  it('tells seconds from milliseconds by the number of digits, as the help text says', async () => {
    expect(String(MILLISECONDS_FROM)).toHaveLength(12);
    // The largest count of seconds is the year 5138; the smallest of milliseconds is 1973.
    expect(messageOf(await failure(read(String(MILLISECONDS_FROM - 1))))).toMatch(
      /"99999999999" reads as 5138-11-16T09:46:39Z, more than a day in the future/,
    );
    expect(messageOf(await failure(read(String(MILLISECONDS_FROM))))).toMatch(
      /"100000000000" reads as 1973-03-03T09:46:40Z, before 2000/,
    );
    expect(eventTimeField.helpText).toContain(
      'up to 11 digits is read as seconds, 12 or more as milliseconds',
    );
    expect(eventTimeField.helpText).toContain("map the event's own creation time");
    expect(eventTimeField.helpText).toContain('never the time the Zap ran');
  });

  it.each([
    ['yesterday', "is not a time this step can read. Map the event's creation time: ISO 8601"],
    ['2025-06-01', 'is not a time this step can read'],
    ['2025-02-30T10:00:00Z', 'is not a time this step can read'],
    ['1,748,772,005', 'is not a time this step can read'],
    ['2026-06-01T24:00:00Z', 'is not a time this step can read'],
    ['2026-06-01T10:60:00Z', 'is not a time this step can read'],
    ['2026-06-01T10:00:00+05:60', 'is not a time this step can read'],
    ['2026-06-01T10:00:00+24:00', 'is not a time this step can read'],
    ['2026-06-01T10:00:00 CET', 'is not a time this step can read'],
    ['-1780308005', 'is not a time this step can read'],
    ['1e12', 'is not a time this step can read'],
    ['99999999999999999999', 'is not a time this step can read'],
    ['0', 'reads as 1970-01-01T00:00:00Z, before 2000'],
    ['1999-12-31T23:59:59Z', 'reads as 1999-12-31T23:59:59Z, before 2000'],
    ['2000', 'reads as 1970-01-01T00:33:20Z, before 2000: that is not when an event happened'],
    [
      '2026-12-02T12:00:01Z',
      "reads as 2026-12-02T12:00:01Z, more than a day in the future. Map the event's creation time, not a due date or an expiry.",
    ],
    ['1796212860', 'reads as 2026-12-02T12:01:00Z, more than a day in the future'],
  ])('refuses %j, naming Event Time and quoting the value', async (value, reason) => {
    const error = await failure(read(value));
    expect(messageOf(error)).toMatch(
      new RegExp(
        `^Event Time: ${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
  });

  it('accepts exactly a day ahead', async () => {
    await expect(read('2026-12-02T12:00:00Z')).resolves.toBe(NOW + 24 * 3600_000);
  });

  it('refuses a value that is neither text nor a number, by its type', async () => {
    const error = await failure(read(['2026-06-01T10:00:05Z']));
    expect(messageOf(error)).toBe('Event Time: expected a date and time or a number, got object.');
  });
});
