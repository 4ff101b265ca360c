/**
 * Bad input, property-based: each input rule's property (its named cases are one table each in
 * input.cases.test.ts). Whatever Zapier hands an action (text in any script, whitespace,
 * 10,000-character strings, numbers, numeric text, booleans, yes/no words, null, undefined), the
 * action either sends exactly the requests a small model of the contract predicts, each one well
 * formed, or stops with an error (reported to the owner) naming a field it got wrong before any
 * request is sent.
 *
 * The model (`model` in each spec) is written from the contract and the field help texts, not
 * from src/fields.ts: it decides which fields are invalid, and otherwise the exact request bodies.
 * A fake API (persisted nock interceptors that still require the key header) records every request.
 */
import fc from 'fast-check';
import nock from 'nock';

import App from '../../index';
import type { ZObject } from 'zapier-platform-core';

import { parseMoment } from '../../src/dates';
import { MAX_CREDITS_INPUT } from '../../src/fields';
import { readEventTime } from '../../src/ordering';
import {
  admin,
  adminAuth,
  inApp,
  dealai,
  dealaiAuth,
  dealaiWithInvalidKey,
  messageOf,
  payloadOf,
  run,
  unmatched,
} from '../helpers';
import { deliver, typed } from '../support/zapier-delivery';
import type { Delivery } from '../support/zapier-delivery';
import { ROUTES, bodyProblem, emailProblem, recordRoutes, undefinedPaths } from './support';
import type { Sent } from './support';

/**
 * Inputs per property: 200 in the full gate (`npm test`), 40 in the quick loop (`npm run
 * test:fast`, TEST_TIER=fast), which proves the same properties on fewer inputs.
 */
const RUNS = process.env.TEST_TIER === 'fast' ? 40 : 200;
/** About 3 s per property here; room for a slow, busy machine. */
const TIMEOUT_MS = 60_000;

type Input = Record<string, unknown>;
type Action = { operation: { perform?: unknown; inputFields?: readonly unknown[] } };

// ---------------------------------------------------------------------------------------------
// What Zapier may hand an action. inputData arrives as JSON, so NaN cannot occur, but 1e309 can
// (JSON.parse('1e309') is Infinity), and so can -0.

const spaces = fc.string({
  unit: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\ufeff'),
  maxLength: 6,
});
const flagWords = fc.constantFrom(
  'true',
  'false',
  'yes',
  'no',
  '1',
  '0',
  'y',
  'n',
  'on',
  'off',
  'TRUE',
  ' Yes ',
  'No\n',
  'maybe',
  '2',
  '-1',
  'null',
  'undefined',
  '',
);
const numericText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true }).map(String),
  fc.constantFrom(
    '1e3',
    '1.5',
    '-5',
    '0',
    '100',
    ' 42 ',
    '+7',
    '5.0',
    '1e309',
    '0x10',
    '١٢٣',
    '1,000',
  ),
);
const hugeText = fc.string({ unit: 'binary', minLength: 256, maxLength: 10_000 });

/** Anything at all that a mapped field can hold. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  hugeText,
  spaces,
  flagWords,
  numericText,
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

const mixedCase = fc
  .emailAddress()
  .chain((email) =>
    fc
      .array(fc.boolean(), { minLength: email.length, maxLength: email.length })
      .map((upper) =>
        Array.from(email, (char, index) =>
          upper[index] === true ? char.toUpperCase() : char,
        ).join(''),
      ),
  );
/** Around the 255-character limit, in characters of 1 to 4 UTF-8 bytes ('@ex.io' is 6). */
const nearLimit = fc
  .tuple(fc.integer({ min: 250, max: 260 }), fc.constantFrom('a', 'é', '中', '😀'))
  .map(([total, char]) => `${char.repeat(total - 6)}@ex.io`);

const emailInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.emailAddress() },
  {
    weight: 2,
    arbitrary: fc.tuple(spaces, fc.emailAddress(), spaces).map(([a, email, b]) => a + email + b),
  },
  { weight: 2, arbitrary: mixedCase },
  { weight: 2, arbitrary: nearLimit },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
      )
      .map(([name, domain]) => `${name}@${domain}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.emailAddress(), fc.emailAddress()).map(([a, b]) => `${a}@${b}`),
  },
  { weight: 3, arbitrary: anyValue },
);
const textInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
  { weight: 2, arbitrary: anyValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
/** Fields that should be empty on this provider: mostly are, sometimes are not. */
const mostlyEmpty: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(undefined, null, '', '  ', '\n') },
  { weight: 1, arbitrary: anyValue },
);
const flagInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: flagWords },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: anyValue },
);
const noFlagInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, null, false, 'false', 'no', '0', '') },
  { weight: 1, arbitrary: flagInput },
);
/** Thousands separators the help text accepts: comma, space, no-break and narrow no-break space. */
const SEPARATORS = [',', ' ', '\u00a0', '\u202f'];
const creditsInput = (min: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min, max: 100_000 }) },
    { weight: 2, arbitrary: fc.integer({ min, max: 100_000 }).map((n) => ` ${String(n)} `) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        MAX_CREDITS_INPUT,
        MAX_CREDITS_INPUT + 1,
        String(MAX_CREDITS_INPUT),
        '2147483648',
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min, max: 10_000_000 }), fc.constantFrom(...SEPARATORS))
        .map(([n, separator]) => n.toLocaleString('en-US').replaceAll(',', separator)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('1,00', '10,0000', '1,000 000', '1.000', '1,5', '2,500.00', '7.0'),
    },
    { weight: 3, arbitrary: anyValue },
  );
const modeInput = (mode: string): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(mode) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'add',
        'atLeast',
        ' add',
        'ADD',
        'atleast',
        'Top Up',
        'top  up',
        'Add: grant this many more credits',
        'Top Up: raise the balance',
        'double',
        '',
      ),
    },
    { weight: 1, arbitrary: anyValue },
  );

// ---------------------------------------------------------------------------------------------
// The model: what the contract and the help texts say a value means.

/** An email the contract accepts once the spaces around it are removed, or undefined. */
const acceptedEmail = (value: unknown): string | undefined => {
  if (typeof value !== 'string') {
    return undefined;
  }
  const email = value.trim();
  return emailProblem(email) === undefined ? email : undefined;
};

/** Mapped text: trimmed, empty is none; numbers and booleans as their text. */
const textOf = (value: unknown): string | undefined => {
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/**
 * A Mode as its dropdown reads: a choice's value, label or the label's name before the colon, in
 * any case and spacing ("Top Up", "atleast"); anything else is no mode.
 */
const MODE_SPELLINGS: Readonly<Record<string, 'add' | 'atLeast'>> = {
  add: 'add',
  'add: grant this many more credits': 'add',
  atleast: 'atLeast',
  'top up': 'atLeast',
  'top up: raise the balance to at least this many': 'atLeast',
};
const modeOf = (value: unknown): 'add' | 'atLeast' | undefined => {
  const text = textOf(value)?.replace(/\s+/g, ' ').toLowerCase();
  return text === undefined ? undefined : MODE_SPELLINGS[text];
};

/** Yes/no as the help texts promise: booleans, or true/yes/y/1/on and false/no/n/0/off/empty. */
const flagOf = (value: unknown): boolean | 'invalid' => {
  if (value === undefined || value === null) {
    return false;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  if (typeof value === 'string' || typeof value === 'number') {
    const word = String(value).trim().toLowerCase();
    if (['true', 'yes', 'y', '1', 'on'].includes(word)) {
      return true;
    }
    if (['false', 'no', 'n', '0', 'off', ''].includes(word)) {
      return false;
    }
  }
  return 'invalid';
};

/**
 * Text a person reads as a whole number, per the help text: digits, or digits grouped by threes
 * with one kind of separator; a price's zero cents (".0", ".00") may follow.
 */
const wholeNumberText = (text: string): number | undefined => {
  const [whole = '', cents, ...rest] = text.replace(/^[+-]/, '').split('.');
  if (rest.length > 0 || (cents !== undefined && !['0', '00'].includes(cents))) {
    return undefined;
  }
  const used = SEPARATORS.filter((separator) => whole.includes(separator));
  const groups = used.length === 1 && used[0] !== undefined ? whole.split(used[0]) : [whole];
  const wellGrouped =
    used.length <= 1 &&
    groups.every((group, index) =>
      groups.length === 1
        ? /^[0-9]+$/.test(group)
        : index === 0
          ? /^[0-9]{1,3}$/.test(group)
          : /^[0-9]{3}$/.test(group),
    );
  return wellGrouped ? Number(`${text.startsWith('-') ? '-' : ''}${groups.join('')}`) : undefined;
};

/** A whole number of credits (a number, or text such as " 100 ", "5.0" or "1,000"), or none. */
const creditsOf = (value: unknown, min: number): number | undefined | 'invalid' => {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return undefined;
  }
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? (wholeNumberText(value.trim()) ?? Number.NaN)
        : Number.NaN;
  if (!Number.isInteger(number) || number < min || number > MAX_CREDITS_INPUT) {
    return 'invalid';
  }
  return number === 0 ? 0 : number; // -0 is sent, and returned, as 0
};

/** The password is sent as typed (a number as its text), unless it is only spaces. */
const passwordOf = (value: unknown): string | undefined =>
  typeof value === 'number'
    ? String(value)
    : typeof value === 'string' && value.trim() !== ''
      ? value
      : undefined;

const body = (method: string, path: string, content: Record<string, string | number>): Sent => ({
  method,
  path,
  query: {},
  // As JSON carries it (-0 becomes 0).
  body: JSON.parse(JSON.stringify(content)),
});
const lookup = (email: string): Sent => ({
  method: 'GET',
  path: '/users',
  query: { email: [email] },
  body: undefined,
});

/** The balance of an existing account in the fake admin API. */
const BALANCE = 10;

type Verdict =
  | { invalid: string[] }
  | { requests: Sent[]; haltsWith?: RegExp; output?: (output: unknown) => void };

interface Spec {
  title: string;
  action: Action;
  auth: Record<string, string>;
  input: fc.Arbitrary<Input>;
  /** `existing`: whether the fake API holds an account for the email. */
  model: (input: Input, existing: boolean) => Verdict;
}

const invalidOrRequests = (invalid: (string | false)[], ok: () => Verdict): Verdict => {
  const labels = invalid.filter((label) => label !== false);
  return labels.length > 0 ? { invalid: labels } : ok();
};

const addUser = App.creates.add_user;
const provision = App.creates.provision_credits;
const changeRole = App.creates.change_role;
const removeUser = App.creates.remove_user;
const findUser = App.searches.find_user;

const provisionModel =
  () =>
  (input: Input, existing: boolean): Verdict => {
    const email = acceptedEmail(input.email);
    const credits = creditsOf(input.credits, 1);
    const mode = modeOf(input.mode);
    return invalidOrRequests(
      [
        email === undefined && 'Email',
        (credits === undefined || credits === 'invalid') && 'Credits',
        mode === undefined && 'Mode',
      ],
      () => {
        if (email === undefined || typeof credits !== 'number') {
          throw new Error('unreachable');
        }
        const grant = (amount: number) => body('PATCH', '/users', { email, amount });
        const create = body('POST', '/users', { email, credits });
        if (mode === 'add') {
          return { requests: existing ? [grant(credits)] : [grant(credits), create] };
        }
        if (!existing) {
          return { requests: [lookup(email), create] };
        }
        return {
          requests:
            credits <= BALANCE ? [lookup(email)] : [lookup(email), grant(credits - BALANCE)],
        };
      },
    );
  };

const removeModel =
  (provider: 'dealai' | 'admin') =>
  (input: Input, existing: boolean): Verdict => {
    const email = acceptedEmail(input.email);
    const ignoreMissing = flagOf(input.ignoreMissing);
    return invalidOrRequests(
      [email === undefined && 'Email', ignoreMissing === 'invalid' && 'Succeed If Already Gone'],
      () => {
        if (email === undefined) {
          throw new Error('unreachable');
        }
        const requests = [body('DELETE', '/users', { email })];
        if (!existing && ignoreMissing !== true) {
          return { requests, haltsWith: /found no such account \(HTTP 404\)/ };
        }
        return {
          requests,
          output: (output) => {
            expect(output).toMatchObject({ provider, removed: existing });
          },
        };
      },
    );
  };

const SPECS: Spec[] = [
  {
    title: 'Add User on Deal.ai',
    action: addUser,
    auth: dealaiAuth,
    input: fc.record(
      {
        email: emailInput,
        firstName: textInput,
        lastName: textInput,
        password: textInput,
        role: textInput,
        sendInviteEmail: flagInput,
        credits: mostlyEmpty,
      },
      { requiredKeys: ['email'] },
    ),
    model: (input) => {
      const email = acceptedEmail(input.email);
      const firstName = textOf(input.firstName);
      const invite = flagOf(input.sendInviteEmail);
      return invalidOrRequests(
        [
          email === undefined && 'Email',
          creditsOf(input.credits, 0) !== undefined && 'Starting Credits',
          firstName === undefined && 'First Name',
          invite === 'invalid' && 'Send Invite Email',
        ],
        () => {
          if (email === undefined || firstName === undefined) {
            throw new Error('unreachable');
          }
          const lastName = textOf(input.lastName);
          const password = passwordOf(input.password);
          const role = textOf(input.role);
          return {
            requests: [
              body('POST', '/users', {
                firstName,
                ...(lastName === undefined ? {} : { lastName }),
                email,
                ...(password === undefined ? {} : { password }),
                sendInviteEmail: invite === true ? 'yes' : 'no',
                ...(role === undefined ? {} : { role }),
              }),
            ],
            output: (output) => {
              expect(output).toEqual({
                provider: 'dealai',
                email,
                firstName,
                lastName: lastName ?? null,
                role: role ?? null,
                inviteSent: invite === true,
                replayed: false,
                replayNote: null,
                stale: false,
                staleNote: null,
              });
            },
          };
        },
      );
    },
  },
  {
    title: 'Add User on the Administration API',
    action: addUser,
    auth: adminAuth,
    input: fc.record(
      {
        email: emailInput,
        firstName: mostlyEmpty,
        lastName: mostlyEmpty,
        password: mostlyEmpty,
        role: mostlyEmpty,
        sendInviteEmail: noFlagInput,
        credits: creditsInput(0),
      },
      { requiredKeys: ['email'] },
    ),
    model: (input) => {
      const email = acceptedEmail(input.email);
      const credits = creditsOf(input.credits, 0);
      return invalidOrRequests(
        [
          email === undefined && 'Email',
          textOf(input.firstName) !== undefined && 'First Name',
          textOf(input.lastName) !== undefined && 'Last Name',
          textOf(input.password) !== undefined && 'Password',
          textOf(input.role) !== undefined && 'Role',
          flagOf(input.sendInviteEmail) !== false && 'Send Invite Email',
          credits === 'invalid' && 'Starting Credits',
        ],
        () => {
          if (email === undefined || credits === 'invalid') {
            throw new Error('unreachable');
          }
          return {
            requests: [
              body('POST', '/users', { email, ...(credits === undefined ? {} : { credits }) }),
            ],
            output: (output) => {
              expect(output).toMatchObject({
                provider: 'admin',
                email: email.toLowerCase(),
                credits: credits ?? 0,
              });
            },
          };
        },
      );
    },
  },
  {
    title: 'Provision Credits, Add',
    action: provision,
    auth: adminAuth,
    input: fc.record(
      { email: emailInput, credits: creditsInput(1), mode: modeInput('add') },
      { requiredKeys: ['email'] },
    ),
    model: provisionModel(),
  },
  {
    title: 'Provision Credits, Top Up',
    action: provision,
    auth: adminAuth,
    input: fc.record(
      { email: emailInput, credits: creditsInput(1), mode: modeInput('atLeast') },
      { requiredKeys: ['email'] },
    ),
    model: provisionModel(),
  },
  {
    title: 'Change Role on Deal.ai',
    action: changeRole,
    auth: dealaiAuth,
    input: fc.record(
      { email: emailInput, role: textInput, clearRole: flagInput },
      { requiredKeys: ['email'] },
    ),
    model: (input) => {
      const email = acceptedEmail(input.email);
      const role = textOf(input.role);
      const clear = flagOf(input.clearRole);
      return invalidOrRequests(
        [
          email === undefined && 'Email',
          clear === 'invalid' && 'Clear Role When Empty',
          role === undefined && clear === false && 'Role',
        ],
        () => {
          if (email === undefined) {
            throw new Error('unreachable');
          }
          return {
            requests: [
              body('PATCH', '/users/role', { email, ...(role === undefined ? {} : { role }) }),
            ],
            output: (output) => {
              expect(output).toEqual({
                provider: 'dealai',
                email,
                role: role ?? null,
                roleCleared: role === undefined,
                stale: false,
                staleNote: null,
              });
            },
          };
        },
      );
    },
  },
  {
    title: 'Remove User on Deal.ai',
    action: removeUser,
    auth: dealaiAuth,
    input: fc.record({ email: emailInput, ignoreMissing: flagInput }, { requiredKeys: ['email'] }),
    model: removeModel('dealai'),
  },
  {
    title: 'Remove User on the Administration API',
    action: removeUser,
    auth: adminAuth,
    input: fc.record({ email: emailInput, ignoreMissing: flagInput }, { requiredKeys: ['email'] }),
    model: removeModel('admin'),
  },
  {
    title: 'Find User',
    action: findUser,
    auth: adminAuth,
    input: fc.record({ email: emailInput }, { requiredKeys: [] }),
    model: (input, existing) => {
      const email = acceptedEmail(input.email);
      return invalidOrRequests([email === undefined && 'Email'], () => {
        if (email === undefined) {
          throw new Error('unreachable');
        }
        return {
          requests: [lookup(email)],
          output: (output) => {
            // The API answers with the normalized address; the match ignores case.
            expect(output).toEqual(
              existing ? [{ email: email.toLowerCase(), credits: BALANCE }] : [],
            );
          },
        };
      });
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The fake API: answers as the contract documents, from one flag (does the account exist?).

const state = { existing: false };
const sent: Sent[] = [];

const emailOf = (request: Sent): string => {
  const value: unknown =
    request.method === 'GET'
      ? request.query.email?.[0]
      : typeof request.body === 'object' && request.body !== null
        ? Reflect.get(request.body, 'email')
        : undefined;
  return typeof value === 'string' ? value.toLowerCase() : '';
};

const numberAt = (value: unknown, key: string): number => {
  const found: unknown =
    typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
  return typeof found === 'number' ? found : 0;
};

/** Requests with a key that cannot be valid (a Deal.ai "already gone" is proved by one). */
const withInvalidKey: Sent[] = [];

const installFakeApi = (): void => {
  recordRoutes(dealaiWithInvalidKey(), ROUTES.dealai, withInvalidKey, () => [
    403,
    { error: 'Invalid API key' },
  ]);
  recordRoutes(dealai(), ROUTES.dealai, sent, (request) => {
    if (request.method === 'DELETE' && !state.existing) {
      return [404, { error: 'User not found' }];
    }
    return [200, request.method === 'POST' ? { message: 'User created' } : ''];
  });
  recordRoutes(admin(), ROUTES.admin, sent, (request) => {
    const email = emailOf(request);
    const other = { email: 'someone.else@example.com', credits: 1 };
    switch (request.method) {
      case 'GET':
        return [200, state.existing ? [other, { email, credits: BALANCE }] : [other]];
      case 'POST':
        return [
          201,
          { email, token: 'a1-newAccountToken', credits: numberAt(request.body, 'credits') },
        ];
      case 'PATCH':
        return state.existing
          ? [200, { email, credits: BALANCE + numberAt(request.body, 'amount') }]
          : [404, 'Account does not exist', { 'Content-Type': 'text/plain' }];
      default:
        return state.existing
          ? [200, { email, credits: 0 }]
          : [404, 'Account does not exist', { 'Content-Type': 'text/plain' }];
    }
  });
};

type Outcome = { ok: true; output: unknown } | { ok: false; error: unknown };

const attempt = (
  action: Action,
  auth: Record<string, string>,
  input: Input,
  delivery: Delivery,
): Promise<Outcome> =>
  run(action, auth, deliver(delivery, action, input)).then(
    (output): Outcome => ({ ok: true, output }),
    (error: unknown): Outcome => ({ ok: false, error }),
  );

const startsWithLabel = (message: string, labels: readonly string[]): boolean =>
  labels.some((label) => message.startsWith(`${label}: `));

/** The properties, with inputs delivered as `delivery` (each delivery has its own test file). */
export const describeProperties = (delivery: Delivery): void => {
  describe(`every action, any input, ${delivery}`, () => {
    beforeEach(installFakeApi);
    afterEach(() => {
      nock.cleanAll();
      sent.length = 0;
    });

    // The model judges what the user typed, so the run as given and the run as a Zap delivers it
    // (rendered to text, then converted to each field's declared type) must both agree with it.
    it.each(SPECS.map((spec) => [spec.title, spec] as const))(
      '%s: sends what the model predicts, well formed, or halts naming a field before any request',
      async (_title, spec) => {
        const tally = { sent: 0, halted: 0 };
        await fc.assert(
          fc.asyncProperty(spec.input, fc.boolean(), async (input, existing) => {
            state.existing = existing;
            sent.length = 0;
            unmatched.length = 0;
            const outcome = await attempt(spec.action, spec.auth, input, delivery);
            const verdict = spec.model(typed(delivery, input), existing);

            expect(unmatched).toEqual([]);
            for (const request of sent) {
              if (request.method === 'GET') {
                expect(request.body).toBeUndefined();
                expect((request.query.email ?? []).map(emailProblem)).toEqual([undefined]);
              } else {
                expect(request.query).toEqual({});
                expect(bodyProblem(request.body)).toBeUndefined();
              }
            }
            if ('invalid' in verdict) {
              tally.halted += 1;
              expect(sent).toEqual([]);
              if (outcome.ok) {
                throw new Error(`expected a halt naming ${verdict.invalid.join(' or ')}`);
              }
              expect(outcome.error).toBeInstanceOf(Error);
              const error = outcome.error instanceof Error ? outcome.error : new Error();
              expect(error.name).toBe('AppError');
              expect(startsWithLabel(messageOf(error), verdict.invalid)).toBe(true);
              return;
            }
            tally.sent += 1;
            expect(sent).toEqual(verdict.requests);
            if (verdict.haltsWith !== undefined) {
              if (outcome.ok) {
                throw new Error('expected the API answer to halt the step');
              }
              const error = outcome.error instanceof Error ? outcome.error : new Error();
              expect(error.name).toBe('AppError');
              expect(messageOf(error)).toMatch(verdict.haltsWith);
              return;
            }
            if (!outcome.ok) {
              throw outcome.error;
            }
            expect(undefinedPaths(outcome.output)).toEqual([]);
            verdict.output?.(outcome.output);
          }),
          { numRuns: RUNS },
        );
        // The property is not vacuous: both branches ran often.
        expect(tally.sent).toBeGreaterThanOrEqual(RUNS / 10);
        expect(tally.halted).toBeGreaterThanOrEqual(RUNS / 10);
      },
      TIMEOUT_MS,
    );

    it(
      'an action on a provider without its route fails with AppError before any request, whatever the input',
      async () => {
        const mismatched = fc.constantFrom(
          { action: changeRole, auth: adminAuth, label: 'Change Role' },
          { action: provision, auth: dealaiAuth, label: 'Provision Credits' },
          { action: findUser, auth: dealaiAuth, label: 'Find User' },
        );
        const input = fc.dictionary(
          fc.constantFrom('email', 'role', 'clearRole', 'credits', 'mode'),
          anyValue,
        );
        await fc.assert(
          fc.asyncProperty(mismatched, input, async ({ action, auth, label }, inputData) => {
            sent.length = 0;
            unmatched.length = 0;
            const outcome = await attempt(action, auth, inputData, delivery);
            if (outcome.ok) {
              throw new Error('expected the step to fail');
            }
            const error = outcome.error instanceof Error ? outcome.error : new Error();
            expect(error.name).toBe('AppError');
            expect(payloadOf(error)).toMatchObject({ code: 'UnsupportedByProvider' });
            expect(messageOf(error)).toMatch(new RegExp(`^${label} works only with`));
            expect(sent).toEqual([]);
            expect(unmatched).toEqual([]);
          }),
          { numRuns: RUNS },
        );
      },
      TIMEOUT_MS,
    );

    // Event Time (src/ordering.ts), as its help text promises: ISO 8601 (Z, an offset, or none for
    // UTC), Unix seconds (up to 11 digits, a fraction kept to the millisecond) or milliseconds.
    it(
      'Event Time: an instant in any promised form reads as itself from 2000 to a day ahead, and is refused naming Event Time outside',
      async () => {
        const now = Date.UTC(2026, 11, 1, 12);
        const earliest = Date.UTC(2000, 0, 1);
        const DAY = 24 * 3600_000;
        const latest = now + DAY;
        const iso = (at: number) => new Date(at).toISOString();
        const forms: ((at: number, offsetMinutes: number) => [string, number])[] = [
          (at) => [iso(at), at],
          (at) => [iso(at).replace('Z', ''), at],
          (at, minutes) => {
            const sign = minutes < 0 ? '-' : '+';
            const hhmm = `${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0')}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`;
            return [`${iso(at + minutes * 60_000).replace('Z', '')}${sign}${hhmm}`, at];
          },
          (at) => [String(Math.floor(at / 1000)), Math.floor(at / 1000) * 1000],
          (at) => [(at / 1000).toFixed(3), at],
          (at) => [String(at), at],
        ];
        const tally = { read: 0, refused: 0 };
        // One z for every input: each reading is checked inside the same invocation.
        const check = (z: ZObject): void => {
          fc.assert(
            fc.property(
              fc.oneof(
                fc.integer({ min: earliest - 400 * DAY, max: earliest + 400 * DAY }),
                fc.integer({ min: earliest, max: latest }),
                fc.integer({ min: latest - 3 * DAY, max: latest + 3 * DAY }),
                fc.constantFrom(earliest - 1, earliest, latest, latest + 1),
              ),
              fc.integer({ min: 0, max: forms.length - 1 }),
              fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
              (at, form, offsetMinutes) => {
                const [text, expected] = forms[form]?.(at, offsetMinutes) ?? ['', 0];
                const { eventTime } = deliver(delivery, removeUser, { eventTime: text });
                if (expected >= earliest && expected <= latest) {
                  tally.read += 1;
                  expect(readEventTime(z, eventTime, now)).toBe(expected);
                  return;
                }
                tally.refused += 1;
                const error = ((): unknown => {
                  try {
                    readEventTime(z, eventTime, now);
                  } catch (thrown: unknown) {
                    return thrown;
                  }
                  throw new Error(`expected ${text} to be refused`);
                })();
                expect(error).toBeInstanceOf(Error);
                const refusal = error instanceof Error ? error : new Error();
                expect(payloadOf(refusal)).toMatchObject({ code: 'InvalidInput' });
                expect(messageOf(refusal)).toMatch(
                  expected < earliest
                    ? /^Event Time: .* before 2000/
                    : /^Event Time: .* more than a day in the future/,
                );
              },
            ),
            { numRuns: RUNS },
          );
        };
        await inApp(check, {});
        expect(tally.read).toBeGreaterThanOrEqual(RUNS / 10);
        expect(tally.refused).toBeGreaterThanOrEqual(RUNS / 10);
      },
      TIMEOUT_MS,
    );

    // From and To (src/dates.ts): a date is the whole day on the Zap's clock, whatever its length.
    it("From and To: a date reads from that day's first second to its last, in the Zap's time zone", () => {
      const zones = [
        'UTC',
        'Europe/Berlin',
        'America/Chicago',
        'America/St_Johns',
        'Asia/Kolkata',
        'Asia/Kathmandu',
        'Australia/Lord_Howe',
        'Pacific/Kiritimati',
        'Pacific/Honolulu',
      ];
      const now = Date.UTC(2031, 0, 1);
      const DAY = 24 * 3600_000;
      /** The wall date and time of an instant in `zone`, as "YYYY-MM-DD HH:MM:SS". */
      const formats = new Map(
        zones.map((zone) => [
          zone,
          new Intl.DateTimeFormat('sv-SE', {
            timeZone: zone,
            hourCycle: 'h23',
            dateStyle: 'short',
            timeStyle: 'medium',
          }),
        ]),
      );
      const wall = (at: number, zone: string): string => formats.get(zone)?.format(at) ?? '';
      /** Days around each change of offset (days of 23 or 25 hours), by zone, in three years. */
      const changes = zones.flatMap((zone) =>
        [2000, 2013, 2026].flatMap((year) => {
          const days: [string, string][] = [];
          for (let at = Date.UTC(year, 0, 1); at < Date.UTC(year + 1, 0, 1); at += DAY) {
            if (wall(at, zone).slice(11) !== wall(at + DAY, zone).slice(11)) {
              days.push([zone, new Date(at).toISOString().slice(0, 10)]);
              days.push([zone, new Date(at + DAY).toISOString().slice(0, 10)]);
            }
          }
          return days;
        }),
      );
      expect(changes.length).toBeGreaterThan(20);
      const anyDay = fc.tuple(
        fc
          .date({
            min: new Date(Date.UTC(2000, 0, 2)),
            max: new Date(Date.UTC(2030, 11, 30)),
            noInvalidDate: true,
          })
          .map((date) => date.toISOString().slice(0, 10)),
        fc.constantFrom(...zones),
      );
      fc.assert(
        fc.property(
          fc.oneof(
            anyDay,
            fc.constantFrom(...changes).map(([zone, day]) => [day, zone] as const),
          ),
          ([day, zone]) => {
            const { from } = deliver(delivery, App.searches.find_usage, { from: day });
            const text = typeof from === 'string' ? from : '';
            const start = parseMoment(text, zone, 'start', now);
            const end = parseMoment(text, zone, 'end', now);
            if (start === undefined || end === undefined) {
              throw new Error(`${day} did not read in ${zone}`);
            }
            expect(wall(start, zone)).toBe(`${day} 00:00:00`);
            expect(wall(start - 1000, zone).slice(0, 10) < day).toBe(true);
            expect(wall(end, zone)).toBe(`${day} 23:59:59`);
            expect(wall(end + 1000, zone).slice(0, 10) > day).toBe(true);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
};
