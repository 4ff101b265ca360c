import type { ZObject } from 'zapier-platform-core';

import { isoTime, readCredits, readEmail, readFlag, readText } from '../src/fields';
import { failure, messageOf, withZ } from './helpers';

/** Runs a check with a real z object, as the platform would hand it to an action. */
const check = <T>(fn: (z: ZObject) => T): Promise<T> => withZ((z: ZObject) => fn(z));

describe('readEmail', () => {
  it('trims and keeps the case as typed', async () => {
    await expect(check((z) => readEmail(z, '  Jane.Doe@Example.COM\t'))).resolves.toBe(
      'Jane.Doe@Example.COM',
    );
  });

  it('counts characters, not bytes or UTF-16 units: 255 multi-byte characters pass', async () => {
    const email = `${'é'.repeat(120)}@${'😀'.repeat(130)}.io`;
    expect(Array.from(email)).toHaveLength(254);
    const at255 = `${email}x`;

    await expect(check((z) => readEmail(z, at255))).resolves.toBe(at255);
    const error = await failure(check((z) => readEmail(z, `${at255}y`)));
    expect(messageOf(error)).toBe('Email: is 256 characters long; the limit is 255.');
  });

  it.each([
    [undefined, 'Email: is empty. Map a field that always holds an email address.'],
    ['   ', 'Email: is empty. Map a field that always holds an email address.'],
    [42, 'Email: expected an email address, got number.'],
    [
      'jane doe@example.com',
      'Email: "jane doe@example.com" contains spaces; an email address has none.',
    ],
    [
      'jane.example.com',
      'Email: "jane.example.com" is not an email address: it needs one "@" between a name and a domain.',
    ],
    [
      'a@b@c.com',
      'Email: "a@b@c.com" is not an email address: it needs one "@" between a name and a domain.',
    ],
    [
      '@example.com',
      'Email: "@example.com" is not an email address: it needs one "@" between a name and a domain.',
    ],
    [
      'x'.repeat(60),
      `Email: "${'x'.repeat(40)}…" is not an email address: it needs one "@" between a name and a domain.`,
    ],
  ])('rejects %p with a message naming the field', async (value, message) => {
    const error = await failure(check((z) => readEmail(z, value)));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(message);
  });
});

const HELP = 'Digits only, or with thousands separators in groups of three (1000, 1,000 or 1 000).';
const RANGE = 'from 0 to 2,147,483,647';

describe('readCredits', () => {
  it.each([
    [100, 100],
    ['100', 100],
    [' 7 ', 7],
    ['+7', 7],
    ['12.0', 12],
    ['500.00', 500],
    ['1,000', 1000],
    ['12,500', 12_500],
    ['1 000', 1000],
    ['1\u00A0000', 1000],
    ['1\u202F000', 1000],
    ['1,000,000', 1_000_000],
    ['1,000.00', 1000],
    ['2,147,483,647', 2_147_483_647],
    [0, 0],
    ['', undefined],
    ['   ', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('reads %p as %p', async (value, expected) => {
    await expect(check((z) => readCredits(z, value, 'Credits', 0))).resolves.toBe(expected);
  });

  it.each([
    [-5, `Credits: -5 is not a whole number ${RANGE}.`],
    ['-5', `Credits: "-5" is not a whole number ${RANGE}.`],
    [2_147_483_648, `Credits: 2147483648 is not a whole number ${RANGE}.`],
    ['2,147,483,648', `Credits: "2,147,483,648" is not a whole number ${RANGE}.`],
    [1.5, `Credits: 1.5 is not a whole number ${RANGE}. ${HELP}`],
    [Number.POSITIVE_INFINITY, `Credits: Infinity is not a whole number ${RANGE}. ${HELP}`],
    ['1.5', `Credits: "1.5" is not a whole number ${RANGE}. ${HELP}`],
    ['1,5', `Credits: "1,5" is not a whole number ${RANGE}. ${HELP}`],
    ['1.000', `Credits: "1.000" is not a whole number ${RANGE}. ${HELP}`],
    ['1.000.000', `Credits: "1.000.000" is not a whole number ${RANGE}. ${HELP}`],
    ['1e3', `Credits: "1e3" is not a whole number ${RANGE}. ${HELP}`],
    ['1,00', `Credits: "1,00" is not a whole number ${RANGE}. ${HELP}`],
    ['10,0000', `Credits: "10,0000" is not a whole number ${RANGE}. ${HELP}`],
    ['1,000 000', `Credits: "1,000 000" is not a whole number ${RANGE}. ${HELP}`],
    [',100', `Credits: ",100" is not a whole number ${RANGE}. ${HELP}`],
    ['1000,', `Credits: "1000," is not a whole number ${RANGE}. ${HELP}`],
    ['12 and a half', `Credits: "12 and a half" is not a whole number ${RANGE}. ${HELP}`],
    ['500 credits', `Credits: "500 credits" is not a whole number ${RANGE}. ${HELP}`],
    ['$500', `Credits: "$500" is not a whole number ${RANGE}. ${HELP}`],
    ['ten', `Credits: "ten" is not a whole number ${RANGE}. ${HELP}`],
    ['abc', `Credits: "abc" is not a whole number ${RANGE}. ${HELP}`],
    [true, `Credits: boolean is not a whole number ${RANGE}. ${HELP}`],
  ])('rejects %p', async (value, message) => {
    const error = await failure(check((z) => readCredits(z, value, 'Credits', 0)));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(message);
  });

  it('reads -0 as 0, not negative zero', async () => {
    const credits = await check((z) => readCredits(z, -0, 'Credits', 0));

    expect(Object.is(credits, 0)).toBe(true);
  });

  it('reads "-0" as 0, not negative zero', async () => {
    const credits = await check((z) => readCredits(z, '-0', 'Credits', 0));

    expect(Object.is(credits, 0)).toBe(true);
  });
});

const NOT_YES_OR_NO =
  'is not yes or no. Choose Yes or No, or map a field that holds yes/no, true/false, 1/0 or on/off.';

describe('readFlag', () => {
  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['Yes', true],
    [' YES ', true],
    ['y', true],
    ['on', true],
    ['1', true],
    [1, true],
    ['false', false],
    ['no', false],
    ['N', false],
    ['off', false],
    ['0', false],
    [0, false],
    ['', false],
    ['  ', false],
    [null, false],
    [undefined, false],
  ])('reads %p as %p', async (value, expected) => {
    await expect(check((z) => readFlag(z, value, 'Send Invite Email'))).resolves.toBe(expected);
  });

  it.each([
    ['maybe', `Send Invite Email: "maybe" ${NOT_YES_OR_NO}`],
    ['unsure', `Send Invite Email: "unsure" ${NOT_YES_OR_NO}`],
    ['yeah', `Send Invite Email: "yeah" ${NOT_YES_OR_NO}`],
    ['nope', `Send Invite Email: "nope" ${NOT_YES_OR_NO}`],
    ['2', `Send Invite Email: "2" ${NOT_YES_OR_NO}`],
    [{}, `Send Invite Email: "object" ${NOT_YES_OR_NO}`],
  ])('rejects %p', async (value, message) => {
    const error = await failure(check((z) => readFlag(z, value, 'Send Invite Email')));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(message);
  });
});

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
