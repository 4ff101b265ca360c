/**
 * Input fields that several actions share, and the checks that turn what Zapier hands us into
 * values the API accepts. Mapped values are text, often empty or padded (numbers and booleans
 * come only from tests and code steps), so every check accepts `unknown` and either returns a
 * clean value or throws an error that names the field, before any request is sent.
 */
import { defineInputField } from 'zapier-platform-core';
import type { ZObject } from 'zapier-platform-core';

/** The admin API's limit, counted in characters "regardless of character encoding". */
const MAX_EMAIL_CHARS = 255;

/** Credits are stored as 32-bit integers by APIs of this kind; anything larger is a typo. */
export const MAX_CREDITS_INPUT = 2_147_483_647;

export const emailField = defineInputField({
  key: 'email',
  label: 'Email',
  type: 'string',
  required: true,
  helpText:
    "The user's email address, which identifies the account. Spaces around it are removed; upper and lower case are the same account.",
});

/** Characters as the admin API counts them: Unicode code points, not UTF-16 units or bytes. */
export const characters = (text: string): string[] => Array.from(text);

/**
 * A refused input: a `z.errors.Error`, so that Zapier reports it to the Zap's owner (a halted run
 * is filed away silently, and a wrong mapping would stop every run unnoticed). Nothing was sent,
 * so a replay after the owner fixed the mapping is safe. Every refusal of input is built here.
 */
export const invalid = (z: ZObject, label: string, reason: string): Error =>
  new z.errors.Error(`${label}: ${reason}`, 'InvalidInput');

/**
 * Characters a bare address never holds outside quotes: names, lists, schemes, brackets; and
 * double braces, which RFC 5322 allows but which here mean a field Zapier did not fill in
 * (`{{...}}`), and which z.request would render as a template in a query, looking up another
 * address.
 */
const NOT_IN_ADDRESS = /[<>()[\],;:\\"]|\{\{|\}\}/u;

/** A value quoted for a message, cut at 40 characters. */
export const show = (value: string): string => {
  const chars = characters(value);
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : value);
};

/** Text as the user meant it: trimmed, and `undefined` when nothing is left. */
export const readText = (value: unknown): string | undefined => {
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const text = value.trim();
  return text === '' ? undefined : text;
};

export const readEmail = (z: ZObject, value: unknown, label = 'Email'): string => {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw invalid(z, label, `expected an email address, got ${typeof value}.`);
  }
  const email = readText(value);
  if (email === undefined) {
    throw invalid(z, label, 'is empty. Map a field that always holds an email address.');
  }
  const chars = characters(email).length;
  if (chars > MAX_EMAIL_CHARS) {
    throw invalid(z, label, `is ${chars} characters long; the limit is ${MAX_EMAIL_CHARS}.`);
  }
  const bare = 'Map a field that holds one bare address, such as ann@example.com.';
  if (email.split('@').length > 2 && /[,;\s]/u.test(email)) {
    throw invalid(z, label, `${show(email)} holds several email addresses. ${bare}`);
  }
  if (/<[^<>]*@[^<>]*>/u.test(email)) {
    throw invalid(z, label, `${show(email)} is a name with an address, not an address. ${bare}`);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/iu.exec(email)?.[1];
  if (scheme !== undefined) {
    throw invalid(
      z,
      label,
      `${show(email)} starts with "${scheme}:", which is a link, not an address. ${bare}`,
    );
  }
  if (/\s/u.test(email)) {
    throw invalid(z, label, `${show(email)} contains spaces; an email address has none.`);
  }
  const parts = email.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw invalid(
      z,
      label,
      `${show(email)} is not an email address: it needs one "@" between a name and a domain.`,
    );
  }
  const odd = NOT_IN_ADDRESS.exec(email)?.[0];
  if (odd !== undefined) {
    throw invalid(
      z,
      label,
      `${show(email)} contains "${odd}", which a bare email address does not. ${bare}`,
    );
  }
  return email;
};

/**
 * Amounts and yes/no answers are declared as text (`type: 'string'`), never `integer` or
 * `boolean`: Zapier converts a mapped value to the declared type before perform runs, `integer`
 * by parseInt ("1,000" becomes 1) and `boolean` by a word list in which any unknown word is true.
 * As text, the value reaches these checks as the user mapped it, and a misread stops the step.
 */
const CREDITS_HELP =
  'Digits only, or with thousands separators in groups of three (1000, 1,000 or 1 000).';

/** A credits field: declared as text so that "1,000" reaches readCredits whole (see above). */
export const creditsField = <const K extends string>(field: {
  key: K;
  label: string;
  required: boolean;
  helpText: string;
}) =>
  defineInputField({
    ...field,
    type: 'string',
    placeholder: '1000',
    helpText: `${field.helpText} ${CREDITS_HELP}`,
  });

/** A yes/no field: a Yes/No dropdown, declared as text so that an unknown word is refused. */
export const yesNoField = <const K extends string>(field: {
  key: K;
  label: string;
  helpText: string;
}) =>
  defineInputField({
    ...field,
    type: 'string',
    required: false,
    default: 'no',
    choices: [
      { value: 'yes', label: 'Yes', sample: 'yes' },
      { value: 'no', label: 'No', sample: 'no' },
    ],
  });

/**
 * A whole number as a person reads it: digits, optionally grouped by threes with one kind of
 * separator (comma, space, no-break space or narrow no-break space), optionally followed by a
 * zero fraction of one or two digits as prices are written ("500.00"). "1.000" is refused: in
 * much of the world it means one thousand. Exponents ("1e3") and other fractions are refused.
 */
const WHOLE_NUMBER =
  /^[+-]?(?:\d+|\d{1,3}(?<separator>[, \u00A0\u202F])\d{3}(?:\k<separator>\d{3})*)(?:\.0{1,2})?$/u;

/** A whole number of credits from a number or from text such as "1,000", within bounds. */
export const readCredits = (
  z: ZObject,
  value: unknown,
  label: string,
  min: number,
): number | undefined => {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return undefined;
  }
  const text = typeof value === 'string' ? value.trim() : undefined;
  const number =
    typeof value === 'number'
      ? value
      : text !== undefined && WHOLE_NUMBER.test(text)
        ? Number(text.replace(/[, \u00A0\u202F]/gu, ''))
        : Number.NaN;
  const range = `from ${min.toLocaleString('en-US')} to ${MAX_CREDITS_INPUT.toLocaleString('en-US')}`;
  if (!Number.isInteger(number)) {
    const shown =
      text !== undefined ? show(text) : typeof value === 'number' ? String(value) : typeof value;
    throw invalid(z, label, `${shown} is not a whole number ${range}. ${CREDITS_HELP}`);
  }
  if (number < min || number > MAX_CREDITS_INPUT) {
    const shown = text !== undefined ? show(text) : String(number);
    throw invalid(z, label, `${shown} is not a whole number ${range}.`);
  }
  // -0 passes every check above; the API and the user should see 0.
  return number === 0 ? 0 : number;
};

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'off']);

/**
 * A yes/no field: the Yes/No choices, or a mapped word (true/false, yes/no, y/n, 1/0, on/off, in
 * any case). Empty means the field's default, which is no for every yes/no field here. Any other
 * word stops the step: an unrecognised word must never send an invitation or remove a role.
 */
export const readFlag = (z: ZObject, value: unknown, label: string): boolean => {
  if (value === undefined || value === null) {
    return false;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  const word = typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  const normalized = word?.trim().toLowerCase();
  if (normalized === '') {
    return false;
  }
  if (normalized !== undefined && TRUE_WORDS.has(normalized)) {
    return true;
  }
  if (normalized !== undefined && FALSE_WORDS.has(normalized)) {
    return false;
  }
  throw invalid(
    z,
    label,
    `${show(word ?? typeof value)} is not yes or no. Choose Yes or No, or map a field that holds yes/no, true/false, 1/0 or on/off.`,
  );
};

/** A date-time as the APIs and Zapier write it: ISO 8601 in UTC, without zero milliseconds. */
export const isoTime = (date: Date): string => date.toISOString().replace('.000Z', 'Z');

/** A dropdown's choice, as an input field declares it. */
export interface Choice<V extends string = string> {
  value: V;
  label: string;
}

const normalizeChoice = (text: string): string => text.trim().replace(/\s+/gu, ' ').toLowerCase();

/** A label's name: the words before a colon or a parenthesis ("Add: grant ..." is "Add"). */
const nameOf = (label: string): string => label.replace(/[:(].*$/su, '').trim();

const OR = new Intl.ListFormat('en-GB', { type: 'disjunction' });

/** What a person may type or map for a choice: its value, its label or its label's name. */
const spellings = (choice: Choice): string[] =>
  [choice.value, choice.label, nameOf(choice.label)].map(normalizeChoice);

/**
 * The value of the choice a person picked, typed or mapped: the choice's value, its label, or
 * the label's name ("Top Up" for "Top Up: raise the balance ..."), in any case and spacing.
 * `undefined` when empty; anything else halts, quoting it and naming the choices.
 */
export const readChoice = <V extends string>(
  z: ZObject,
  value: unknown,
  label: string,
  choices: readonly Choice<V>[],
): V | undefined => {
  const text = readText(value);
  if (text === undefined) {
    return undefined;
  }
  const wanted = normalizeChoice(text);
  const found = choices.find((choice) => spellings(choice).includes(wanted));
  if (found !== undefined) {
    return found.value;
  }
  const listed = OR.format(choices.map((choice) => `${nameOf(choice.label)} (${choice.value})`));
  throw invalid(
    z,
    label,
    `${show(text)} is not one of its choices: ${listed}. Pick one, or map a field that holds a choice's name or value.`,
  );
};
