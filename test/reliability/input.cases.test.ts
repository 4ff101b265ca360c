/**
 * The input rules, one table per rule: each value a Zap owner may map into a field, and what the
 * rule makes of it, run through every action that reads the field, in both deliveries (as given,
 * and as Zapier delivers it: rendered to text, then converted to each field's declared type). This
 * file is the one place each rule's cases live; input.property.ts holds each rule's property.
 *
 * Each mock matches the exact body, so a request that differs is refused by nock (and the test
 * fails); a case that must send nothing declares no mock and checks `unmatched`.
 */
import App from '../../index';
import {
  admin,
  adminAuth,
  dealai,
  dealaiAuth,
  failure,
  messageOf,
  payloadOf,
  run as runAction,
  unmatched,
} from '../helpers';
import { DELIVERIES, deliver } from '../support/zapier-delivery';
import type { Delivery } from '../support/zapier-delivery';
import { codePoints } from './support';

type Input = Record<string, unknown>;
type Action = { operation: { perform?: unknown; inputFields?: readonly unknown[] } };

const addUser = App.creates.add_user;
const provision = App.creates.provision_credits;
const changeRole = App.creates.change_role;
const removeUser = App.creates.remove_user;
const findUser = App.searches.find_user;

const STORED = 'jane.doe@example.com';
/** A mapped number 1e309 arrives as JSON, which JavaScript reads as Infinity. */
const INFINITY_FROM_JSON: unknown = JSON.parse('1e309');

/**
 * Every Email row through every action in the full gate (`npm test`). In the quick loop (`npm
 * run test:fast`, TEST_TIER=fast) each refusal goes through one action in turn, so every row and
 * every action still runs; an accepted address goes through every action in both tiers.
 */
const EVERY_PAIR = process.env.TEST_TIER !== 'fast';

/** A table row: `value` means `meaning`. */
const readsAs =
  <T>(meaning: T) =>
  (value: unknown): [unknown, T] => [value, meaning];

// ---------------------------------------------------------------------------------------------
// Email (readEmail): [the value, the address sent | the refusal, given the value as quoted].

const BARE = 'Map a field that holds one bare address, such as ann@example.com.';
const EMPTY = 'is empty. Map a field that always holds an email address.';
type Why = (quote: string) => string;
const notAnAddress: Why = (q) =>
  `${q} is not an email address: it needs one "@" between a name and a domain.`;
const spaces: Why = (q) => `${q} contains spaces; an email address has none.`;
const link =
  (scheme: string): Why =>
  (q) =>
    `${q} starts with "${scheme}:", which is a link, not an address. ${BARE}`;
const named: Why = (q) => `${q} is a name with an address, not an address. ${BARE}`;
const several: Why = (q) => `${q} holds several email addresses. ${BARE}`;
const odd =
  (char: string): Why =>
  (q) =>
    `${q} contains "${char}", which a bare email address does not. ${BARE}`;
/** A value as a message quotes it: as JSON, cut at 40 characters. */
const quote = (value: string): string => {
  const chars = Array.from(value);
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : value);
};
const DOMAIN = '@例え.jp';
/** 255 characters, more than 255 UTF-16 units and 1,000 UTF-8 bytes: the limit counts characters. */
const AT_255 = `${'😀'.repeat(255 - codePoints(DOMAIN))}${DOMAIN}`;

/** A refusal whose message depends on the delivery: a number arrives as text in a Zap. */
interface ByDelivery {
  asGiven: string;
  asZapier: string;
}
const EMAILS: [unknown, { sent: string } | ByDelivery | Why | string][] = [
  ['  Jane.Doe@Example.com \n', { sent: 'Jane.Doe@Example.com' }],
  [AT_255, { sent: AT_255 }],
  [`😀${AT_255}`, 'is 256 characters long; the limit is 255.'],
  [undefined, EMPTY],
  [null, EMPTY],
  ['   ', EMPTY],
  ['\t\r\n', EMPTY],
  [42, { asGiven: 'expected an email address, got number.', asZapier: notAnAddress('"42"') }],
  [true, { asGiven: 'expected an email address, got boolean.', asZapier: notAnAddress('"true"') }],
  ['jane.example.com', notAnAddress],
  ['a@b@c.com', notAnAddress],
  ['jane@doe@example.com', notAnAddress],
  ['@example.com', notAnAddress],
  ['jane@', notAnAddress],
  ['x'.repeat(60), notAnAddress],
  ['jane doe@example.com', spaces],
  ['jane\u00a0doe@example.com', spaces],
  [`${'x'.repeat(200)} @example.com`, spaces],
  ['"Ann" ann@example.com', spaces],
  ['mailto:ann@example.com', link('mailto')],
  ['MAILTO:Ann@Example.com', link('MAILTO')],
  ['https://ann@example.com', link('https')],
  ['Ann Lee <ann@example.com>', named],
  ['<ann@example.com>', named],
  ['ann@example.com, bob@example.com', several],
  ['ann@example.com;bob@example.com', several],
  ['ann@example.com;', odd(';')],
  ['{{ann}}@example.com', odd('{{')],
  ['ann(work)@example.com', odd('(')],
];

// Credits (readCredits): [the value, the whole number a person reads in it]; then no number, and
// empty. Each field's bounds decide what a number does.

const NOT_A_NUMBER: unknown[] = [
  1.5,
  INFINITY_FROM_JSON,
  true,
  ...['1.5', '1,5', '2,5', '1.000', '1.000.000', '1e3', '1e309', '1,00', '10,0000', '1,000 000'],
  ...[',100', '1000,', '12 and a half', '500 credits', '$500', 'ten', 'abc'],
];
const CREDITS: [unknown, number | undefined][] = [
  [100, 100],
  [0, 0],
  [-0, 0],
  [-5, -5],
  [2_147_483_647, 2_147_483_647],
  [2_147_483_648, 2_147_483_648],
  ...[' 7 ', ' 42 ', '+7', '+3', '7.0'].map((text) => readsAs(Number(text))(text)),
  ['100', 100],
  ['0', 0],
  ['-0', 0],
  ['-5', -5],
  ['12.0', 12],
  ['500.00', 500],
  ['1,000', 1000],
  ['12,500', 12_500],
  ...['1 000', '1\u00A0000', '1\u202F000', '1,000.00'].map(readsAs(1000)),
  ['1,000,000', 1_000_000],
  ['2,500', 2500],
  ['2,500.00', 2500],
  ['2,147,483,647', 2_147_483_647],
  ['2,147,483,648', 2_147_483_648],
  ...NOT_A_NUMBER.map(readsAs(NaN)),
  ...['', '   ', null, undefined].map(readsAs(undefined)),
];
const CREDITS_HELP =
  'Digits only, or with thousands separators in groups of three (1000, 1,000 or 1 000).';

// Yes/no (readFlag): [the value, what it means]; `undefined` is refused.

const FLAGS: [unknown, boolean | undefined][] = [
  ...[true, 'true', 'Yes', ' YES ', 'y', 'on', '1', 1].map(readsAs(true)),
  ...[false, 'false', 'no', 'N', 'off', '0', 0].map(readsAs(false)),
  ...['', '  ', null, undefined].map(readsAs(false)),
  ...['maybe', 'unsure', 'yeah', 'nope', '2', {}].map(readsAs(undefined)),
];
const NOT_YES_OR_NO =
  'is not yes or no. Choose Yes or No, or map a field that holds yes/no, true/false, 1/0 or on/off.';

// A dropdown's choice (readChoice), through Provision Credits' Mode: [typed, the choice].
// `undefined` is empty; `null` is refused. Account's "(the connection)" label is read in
// test/triggers/credits-low.test.ts.

type Mode = 'add' | 'atLeast' | undefined | null;
const MODES: [unknown, Mode][] = [
  ...['add', 'ADD', 'Add', 'add: grant this many more credits'].map(readsAs<Mode>('add')),
  ...['atleast', 'Top Up', '  top   up ', ' top  up '].map(readsAs<Mode>('atLeast')),
  ...['Top Up: raise the balance to at least this many'].map(readsAs<Mode>('atLeast')),
  ...['TOP UP: RAISE THE BALANCE TO AT LEAST THIS MANY'].map(readsAs<Mode>('atLeast')),
  ...['', '   ', undefined].map(readsAs<Mode>(undefined)),
  ...['Top', 'grant this many more credits', 'add more', 'double', 7].map(readsAs<Mode>(null)),
];
describe.each(DELIVERIES)('input %s', (delivery: Delivery) => {
  const run = (action: Action, auth: Record<string, string>, input: Input): Promise<unknown> =>
    runAction(action, auth, deliver(delivery, action, input));

  /** Stops before any request with an InvalidInput error whose message is `expected`. */
  const expectHalt = async (
    action: Action,
    auth: Record<string, string>,
    input: Input,
    expected: string,
  ): Promise<void> => {
    const error = await failure(run(action, auth, input));
    // A z.errors.Error, so that Zapier reports it to the owner (issue 16), never a silent halt.
    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toMatchObject({ code: 'InvalidInput' });
    expect(messageOf(error)).toBe(expected);
    expect(unmatched).toEqual([]);
  };

  describe('Email', () => {
    /** Every action that reads Email, the other fields it needs, and its one request for `email`. */
    const ACTIONS: [string, Action, Record<string, string>, Input, (email: string) => void][] = [
      [
        'Add User on Deal.ai',
        addUser,
        dealaiAuth,
        { firstName: 'Jane' },
        (email) => {
          dealai().post('/users', { firstName: 'Jane', email, sendInviteEmail: 'no' }).reply(200);
        },
      ],
      [
        'Add User on the Administration API',
        addUser,
        adminAuth,
        {},
        (email) => {
          admin().post('/users', { email }).reply(201, { email, token: 't', credits: 0 });
        },
      ],
      [
        'Provision Credits, Add',
        provision,
        adminAuth,
        { credits: 5, mode: 'add' },
        (email) => {
          admin().patch('/users', { email, amount: 5 }).reply(200, { email, credits: 5 });
        },
      ],
      [
        'Provision Credits, Top Up',
        provision,
        adminAuth,
        { credits: 5, mode: 'atLeast' },
        (email) => {
          admin()
            .get('/users')
            .query({ email })
            .reply(200, [{ email: email.toLowerCase(), credits: 10 }]);
        },
      ],
      [
        'Change Role on Deal.ai',
        changeRole,
        dealaiAuth,
        { role: 'Premium Plan' },
        (email) => {
          dealai().patch('/users/role', { email, role: 'Premium Plan' }).reply(200);
        },
      ],
      [
        'Remove User on Deal.ai',
        removeUser,
        dealaiAuth,
        {},
        (email) => {
          dealai().delete('/users', { email }).reply(200);
        },
      ],
      [
        'Remove User on the Administration API',
        removeUser,
        adminAuth,
        {},
        (email) => {
          admin().delete('/users', { email }).reply(200, { email, credits: 0 });
        },
      ],
      [
        'Find User',
        findUser,
        adminAuth,
        {},
        (email) => {
          admin()
            .get('/users')
            .query({ email })
            .reply(200, [{ email: email.toLowerCase(), credits: 10 }]);
        },
      ],
    ];

    it.each(
      ACTIONS.flatMap(([title, ...action], index) =>
        EMAILS.filter(
          ([, outcome], row) =>
            EVERY_PAIR ||
            (typeof outcome === 'object' && 'sent' in outcome) ||
            row % ACTIONS.length === index,
        ).map(([email, outcome]) => [title, email, outcome, ...action] as const),
      ),
    )('%s: %p', async (_title, email, outcome, action, auth, input, mock) => {
      if (typeof outcome === 'object' && 'sent' in outcome) {
        mock(outcome.sent);
        await run(action, auth, { ...input, email });
        expect(unmatched).toEqual([]);
        return;
      }
      const why =
        typeof outcome === 'function'
          ? outcome(quote(String(email)))
          : typeof outcome === 'string'
            ? outcome
            : delivery === 'as given'
              ? outcome.asGiven
              : outcome.asZapier;
      await expectHalt(action, auth, { ...input, email }, `Email: ${why}`);
    });
  });

  describe('Credits', () => {
    /** [field, action, auth, other input, lowest number, what it does with none, and with `n`]. */
    const FIELDS: [
      string,
      Action,
      Record<string, string>,
      Input,
      number,
      string | undefined,
      (n: number | undefined) => { mock: () => void; output: Record<string, unknown> },
    ][] = [
      [
        'Credits',
        provision,
        adminAuth,
        { mode: 'add' },
        1,
        'Credits: is empty. Map a whole number of 1 or more.',
        (amount) => ({
          mock: () => {
            admin()
              .patch('/users', { email: STORED, amount })
              .reply(200, { email: STORED, credits: amount });
          },
          output: { granted: amount },
        }),
      ],
      [
        'Starting Credits',
        addUser,
        adminAuth,
        {},
        0,
        undefined,
        // The answer leaves credits out, so the output shows the number sent (0, never -0).
        (credits) => ({
          mock: () => {
            admin()
              .post(
                '/users',
                credits === undefined ? { email: STORED } : { email: STORED, credits },
              )
              .reply(201, { email: STORED, token: 't' });
          },
          output: { credits: credits ?? 0 },
        }),
      ],
    ];

    it.each(
      FIELDS.flatMap((field) => CREDITS.map(([value, n]) => [field[0], value, n, field] as const)),
    )('%s: %p reads as %p', async (label, value, n, field) => {
      const [, action, auth, input, min, whenEmpty, expectedFor] = field;
      // Quoted when it is text; a number or a boolean is text too once Zapier delivers it.
      const shown =
        typeof value === 'string'
          ? JSON.stringify(value.trim())
          : delivery === 'as given'
            ? typeof value === 'number'
              ? String(value)
              : typeof value
            : JSON.stringify(String(value));
      const range = `from ${min.toLocaleString('en-US')} to 2,147,483,647`;
      const inputData = { ...input, email: STORED, credits: value };
      if (Number.isNaN(n)) {
        await expectHalt(
          action,
          auth,
          inputData,
          `${label}: ${shown} is not a whole number ${range}. ${CREDITS_HELP}`,
        );
      } else if (n !== undefined && (n < min || n > 2_147_483_647)) {
        await expectHalt(
          action,
          auth,
          inputData,
          `${label}: ${shown} is not a whole number ${range}.`,
        );
      } else if (n === undefined && whenEmpty !== undefined) {
        await expectHalt(action, auth, inputData, whenEmpty);
      } else {
        const { mock, output } = expectedFor(n);
        mock();
        expect(await run(action, auth, inputData)).toMatchObject(output);
      }
    });

    it('Provision Credits, Top Up reads "2,000" as 2000 and grants the difference', async () => {
      admin()
        .get('/users')
        .query({ email: STORED })
        .reply(200, [{ email: STORED, credits: 300 }]);
      admin()
        .patch('/users', { email: STORED, amount: 1700 })
        .reply(200, { email: STORED, credits: 2000 });

      const result = await run(provision, adminAuth, {
        email: STORED,
        credits: '2,000',
        mode: 'atLeast',
      });

      expect(result).toMatchObject({ granted: 1700 });
    });
  });

  describe('yes/no fields', () => {
    const ROLE_EMPTY =
      'Role: is empty, so the role was left as it is. To remove the role, set Clear Role When Empty to yes.';
    /** [label, key, action, auth, other input, what a yes or a no sends and returns]. */
    const FIELDS: [
      string,
      string,
      Action,
      Record<string, string>,
      Input,
      (flag: boolean, input: Input) => Promise<void>,
    ][] = [
      [
        'Send Invite Email',
        'sendInviteEmail',
        addUser,
        dealaiAuth,
        { firstName: 'Jane' },
        async (invite, input) => {
          const sendInviteEmail = invite ? 'yes' : 'no';
          dealai().post('/users', { firstName: 'Jane', email: STORED, sendInviteEmail }).reply(200);
          expect(await run(addUser, dealaiAuth, input)).toMatchObject({ inviteSent: invite });
        },
      ],
      [
        'Clear Role When Empty',
        'clearRole',
        changeRole,
        dealaiAuth,
        { role: '' },
        async (clear, input) => {
          if (!clear) {
            await expectHalt(changeRole, dealaiAuth, input, ROLE_EMPTY);
            return;
          }
          dealai().patch('/users/role', { email: STORED }).reply(200);
          expect(await run(changeRole, dealaiAuth, input)).toMatchObject({ roleCleared: true });
        },
      ],
      [
        'Clear Role When Empty',
        'clearRole',
        changeRole,
        dealaiAuth,
        { role: 'Premium Plan' },
        async (_clear, input) => {
          dealai().patch('/users/role', { email: STORED, role: 'Premium Plan' }).reply(200);
          expect(await run(changeRole, dealaiAuth, input)).toMatchObject({ roleCleared: false });
        },
      ],
      [
        'Succeed If Already Gone',
        'ignoreMissing',
        removeUser,
        adminAuth,
        {},
        async (ignore, input) => {
          admin().delete('/users', { email: STORED }).reply(404, 'Account does not exist', {
            'Content-Type': 'text/plain',
          });
          if (ignore) {
            expect(await run(removeUser, adminAuth, input)).toMatchObject({ removed: false });
            return;
          }
          const error = await failure(run(removeUser, adminAuth, input));
          expect(error.name).toBe('AppError');
          expect(messageOf(error)).toBe(
            'Administration API found no such account (HTTP 404): Account does not exist',
          );
        },
      ],
    ];

    it.each(
      FIELDS.flatMap(([label, ...field]) =>
        FLAGS.map(
          ([value, flag]) => [label, JSON.stringify(field[3]), value, flag, field] as const,
        ),
      ),
    )('%s (with %s): %p reads as %p', async (label, _with, value, flag, field) => {
      const [key, action, auth, other, expectFor] = field;
      const input = { ...other, email: STORED, [key]: value };
      if (flag !== undefined) {
        await expectFor(flag, input);
        return;
      }
      // Quoted as typed; anything else by its type, or as the text a Zap renders it to.
      const quote =
        typeof value === 'string'
          ? JSON.stringify(value)
          : delivery === 'as given'
            ? JSON.stringify(typeof value)
            : JSON.stringify(JSON.stringify(value));
      await expectHalt(action, auth, input, `${label}: ${quote} ${NOT_YES_OR_NO}`);
    });
  });

  describe('Mode', () => {
    it.each(MODES)('%j reads as %j', async (typed, mode) => {
      const inputData = { email: STORED, credits: 5, mode: typed };
      if (mode === undefined) {
        await expectHalt(provision, adminAuth, inputData, 'Mode: is empty. Choose Add or Top Up.');
        return;
      }
      if (mode === null) {
        await expectHalt(
          provision,
          adminAuth,
          inputData,
          `Mode: ${JSON.stringify(String(typed))} is not one of its choices: Add (add) or Top Up (atLeast). Pick one, or map a field that holds a choice's name or value.`,
        );
        return;
      }
      if (mode === 'add') {
        admin()
          .patch('/users', { email: STORED, amount: 5 })
          .reply(200, { email: STORED, credits: 15 });
      } else {
        admin()
          .get('/users')
          .query({ email: STORED })
          .reply(200, [{ email: STORED, credits: 10 }]);
      }

      expect(await run(provision, adminAuth, inputData)).toMatchObject({ mode });
    });
  });

  describe('Role', () => {
    it('Change Role stops before any request when Role is only spaces', async () => {
      await expectHalt(
        changeRole,
        dealaiAuth,
        { email: STORED, role: '   ' },
        'Role: is empty, so the role was left as it is. To remove the role, set Clear Role When Empty to yes.',
      );
    });

    it('Change Role removes the role (no role in the body) when Role is only spaces and Clear Role When Empty is yes', async () => {
      dealai().patch('/users/role', { email: STORED }).reply(200, '');

      const result = await run(changeRole, dealaiAuth, {
        email: STORED,
        role: ' \t ',
        clearRole: 'yes',
      });

      expect(result).toEqual({
        provider: 'dealai',
        email: STORED,
        role: null,
        roleCleared: true,
        stale: false,
        staleNote: null,
      });
    });

    it('Change Role trims the role it sends', async () => {
      dealai().patch('/users/role', { email: STORED, role: 'Premium Plan' }).reply(200, '');

      const result = await run(changeRole, dealaiAuth, { email: STORED, role: ' Premium Plan\n' });

      expect(result).toMatchObject({ role: 'Premium Plan', roleCleared: false });
    });

    it('Add User on Deal.ai leaves a role of only spaces out of the body (the Default Role)', async () => {
      dealai()
        .post('/users', { firstName: 'Jane', email: STORED, sendInviteEmail: 'no' })
        .reply(200, '');

      const result = await run(addUser, dealaiAuth, {
        firstName: 'Jane',
        email: STORED,
        role: '   ',
      });

      expect(result).toMatchObject({ role: null });
    });
  });
});
