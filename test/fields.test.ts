/**
 * The shared readers of src/fields.ts that no action table covers. Email, Credits, yes/no and a
 * dropdown's choice are pinned, each in one table, in test/reliability/input.cases.test.ts.
 */
import { isoTime, readText } from '../src/fields';

describe('readText', () => {
  it.each([
    [' Premium Plan ', 'Premium Plan'],
    ['   ', undefined],
    [12, '12'],
    [true, 'true'],
    [null, undefined],
    [{}, undefined],
  ])('reads %p as %p', (value, expected) => {
    expect(readText(value)).toBe(expected);
  });
});

describe('isoTime', () => {
  it('writes times without zero milliseconds', () => {
    expect(isoTime(new Date('2025-06-01T09:00:00.000Z'))).toBe('2025-06-01T09:00:00Z');
    expect(isoTime(new Date('2025-06-01T09:00:00.250Z'))).toBe('2025-06-01T09:00:00.250Z');
  });
});
