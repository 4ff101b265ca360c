/**
 * Bad input, named cases: the values a Zap owner actually maps into these fields. Each mock
 * matches the exact body, so a request that differs is refused by nock (and the test fails); a
 * case that must send nothing declares no mock and checks `unmatched`.
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

const EMAIL = 'Jane.Doe@Example.com';
/** A mapped number 1e309 arrives as JSON, which JavaScript reads as Infinity. */
const INFINITY_FROM_JSON: unknown = JSON.parse('1e309');
const STORED = 'jane.doe@example.com';

// Every case runs twice: with the input as written here, and as a Zap delivers it (rendered to
// text, then converted to each field's declared type by the platform). Both must pass.
describe.each(DELIVERIES)('input %s', (delivery: Delivery) => {
  const run = (action: Action, auth: Record<string, string>, input: Input): Promise<unknown> =>
    runAction(action, auth, deliver(delivery, action, input));
  /** The message for a value that arrives as a number here and as text in a Zap. */
  const asText =
    delivery === 'as given' ? String : (value: unknown) => JSON.stringify(String(value));

  /** Stops before any request with an InvalidInput error whose message is `expected`. */
  const expectHalt = async (
    action: Action,
    auth: Record<string, string>,
    input: Input,
    expected: string | RegExp,
  ): Promise<void> => {
    const error = await failure(run(action, auth, input));
    // A z.errors.Error, so that Zapier reports it to the owner (issue 16), never a silent halt.
    expect(error.name).toBe('AppError');
    expect(payloadOf(error)).toMatchObject({ code: 'InvalidInput' });
    if (typeof expected === 'string') {
      expect(messageOf(error)).toBe(expected);
    } else {
      expect(messageOf(error)).toMatch(expected);
    }
    expect(unmatched).toEqual([]);
  };

  /** Every action variant, the other fields it needs, and the one request it must send for EMAIL. */
  const EVERY_ACTION: [string, Action, Record<string, string>, Input, () => void][] = [
    [
      'Add User on Deal.ai',
      addUser,
      dealaiAuth,
      { firstName: 'Jane' },
      () => {
        dealai()
          .post('/users', { firstName: 'Jane', email: EMAIL, sendInviteEmail: 'no' })
          .reply(200, '');
      },
    ],
    [
      'Add User on the Administration API',
      addUser,
      adminAuth,
      {},
      () => {
        admin()
          .post('/users', { email: EMAIL })
          .reply(201, { email: STORED, token: 't', credits: 0 });
      },
    ],
    [
      'Provision Credits, Add',
      provision,
      adminAuth,
      { credits: 5, mode: 'add' },
      () => {
        admin()
          .patch('/users', { email: EMAIL, amount: 5 })
          .reply(200, { email: STORED, credits: 5 });
      },
    ],
    [
      'Provision Credits, Top Up',
      provision,
      adminAuth,
      { credits: 5, mode: 'atLeast' },
      () => {
        admin()
          .get('/users')
          .query({ email: EMAIL })
          .reply(200, [{ email: STORED, credits: 10 }]);
      },
    ],
    [
      'Change Role on Deal.ai',
      changeRole,
      dealaiAuth,
      { role: 'Premium Plan' },
      () => {
        dealai().patch('/users/role', { email: EMAIL, role: 'Premium Plan' }).reply(200, '');
      },
    ],
    [
      'Remove User on Deal.ai',
      removeUser,
      dealaiAuth,
      {},
      () => {
        dealai().delete('/users', { email: EMAIL }).reply(200, '');
      },
    ],
    [
      'Remove User on the Administration API',
      removeUser,
      adminAuth,
      {},
      () => {
        admin().delete('/users', { email: EMAIL }).reply(200, { email: STORED, credits: 0 });
      },
    ],
    [
      'Find User',
      findUser,
      adminAuth,
      {},
      () => {
        admin()
          .get('/users')
          .query({ email: EMAIL })
          .reply(200, [{ email: STORED, credits: 10 }]);
      },
    ],
  ];

  describe('Email', () => {
    it.each(EVERY_ACTION)(
      '%s: spaces and line breaks around it are removed; its case is sent as typed',
      async (_title, action, auth, input, mock) => {
        mock();
        await run(action, auth, { ...input, email: `  ${EMAIL} \n` });
      },
    );

    it.each(EVERY_ACTION)(
      '%s: an address without "@" stops the step before any request',
      async (_title, action, auth, input) => {
        await expectHalt(
          action,
          auth,
          { ...input, email: 'jane.example.com' },
          'Email: "jane.example.com" is not an email address: it needs one "@" between a name and a domain.',
        );
      },
    );

    const BARE = 'Map a field that holds one bare address, such as ann@example.com.';
    it.each(
      EVERY_ACTION.flatMap(([title, action, auth, input]) =>
        (
          [
            [
              'mailto:ann@example.com',
              `"mailto:ann@example.com" starts with "mailto:", which is a link, not an address. ${BARE}`,
            ],
            [
              'MAILTO:Ann@Example.com',
              `"MAILTO:Ann@Example.com" starts with "MAILTO:", which is a link, not an address. ${BARE}`,
            ],
            [
              'https://ann@example.com',
              `"https://ann@example.com" starts with "https:", which is a link, not an address. ${BARE}`,
            ],
            [
              'Ann Lee <ann@example.com>',
              `"Ann Lee <ann@example.com>" is a name with an address, not an address. ${BARE}`,
            ],
            [
              '<ann@example.com>',
              `"<ann@example.com>" is a name with an address, not an address. ${BARE}`,
            ],
            [
              '"Ann" ann@example.com',
              `"\\"Ann\\" ann@example.com" contains spaces; an email address has none.`,
            ],
            [
              'ann@example.com, bob@example.com',
              `"ann@example.com, bob@example.com" holds several email addresses. ${BARE}`,
            ],
            [
              'ann@example.com;bob@example.com',
              `"ann@example.com;bob@example.com" holds several email addresses. ${BARE}`,
            ],
            [
              'ann@example.com;',
              `"ann@example.com;" contains ";", which a bare email address does not. ${BARE}`,
            ],
            [
              '{{ann}}@example.com',
              `"{{ann}}@example.com" contains "{{", which a bare email address does not. ${BARE}`,
            ],
            [
              'ann(work)@example.com',
              `"ann(work)@example.com" contains "(", which a bare email address does not. ${BARE}`,
            ],
          ] as const
        ).map(([email, why]) => [title, email, action, auth, input, why] as const),
      ),
    )(
      '%s: %p is refused before any request, quoting it',
      async (_title, email, action, auth, input, why) => {
        await expectHalt(action, auth, { ...input, email }, `Email: ${why}`);
      },
    );

    it('Find User matches the address whatever its case, among the accounts the API returns', async () => {
      admin()
        .get('/users')
        .query({ email: 'JANE.DOE@example.COM' })
        .reply(200, [
          { email: 'jane.doe@example.co', credits: 1 },
          { email: STORED, credits: 7 },
        ]);

      const result = await run(findUser, adminAuth, { email: 'JANE.DOE@example.COM' });

      expect(result).toEqual([{ email: STORED, credits: 7 }]);
    });

    it('Find User finds nothing when only a similar address comes back', async () => {
      admin()
        .get('/users')
        .query({ email: 'jane.doe@example.co' })
        .reply(200, [{ email: STORED, credits: 7 }]);

      expect(await run(findUser, adminAuth, { email: 'jane.doe@example.co' })).toEqual([]);
    });

    const domain = '@例え.jp';
    const at255 = `${'😀'.repeat(255 - codePoints(domain))}${domain}`;

    it('accepts 255 characters of multi-byte text (the limit counts characters, not bytes)', async () => {
      expect(codePoints(at255)).toBe(255);
      expect(at255.length).toBeGreaterThan(255); // UTF-16 code units
      expect(Buffer.byteLength(at255)).toBeGreaterThan(1000); // UTF-8 bytes
      admin().post('/users', { email: at255 }).reply(201, { email: at255, token: 't', credits: 0 });

      const result = await run(addUser, adminAuth, { email: at255 });

      expect(result).toMatchObject({ email: at255 });
    });

    it('refuses 256 characters before any request', async () => {
      const at256 = `😀${at255}`;
      expect(codePoints(at256)).toBe(256);

      await expectHalt(
        addUser,
        adminAuth,
        { email: at256 },
        'Email: is 256 characters long; the limit is 255.',
      );
    });

    it.each([
      [
        'two "@"',
        'jane@doe@example.com',
        'Email: "jane@doe@example.com" is not an email address: it needs one "@" between a name and a domain.',
      ],
      ['only spaces', '   ', 'Email: is empty. Map a field that always holds an email address.'],
      [
        'only tabs and line breaks',
        '\t\r\n',
        'Email: is empty. Map a field that always holds an email address.',
      ],
      [
        'a space inside',
        'jane doe@example.com',
        'Email: "jane doe@example.com" contains spaces; an email address has none.',
      ],
      [
        'a no-break space inside',
        'jane\u00a0doe@example.com',
        'Email: "jane\u00a0doe@example.com" contains spaces; an email address has none.',
      ],
      [
        'no name before "@"',
        '@example.com',
        'Email: "@example.com" is not an email address: it needs one "@" between a name and a domain.',
      ],
      [
        'no domain after "@"',
        'jane@',
        'Email: "jane@" is not an email address: it needs one "@" between a name and a domain.',
      ],
      [
        'a number',
        42,
        delivery === 'as given'
          ? 'Email: expected an email address, got number.'
          : 'Email: "42" is not an email address: it needs one "@" between a name and a domain.',
      ],
      [
        'true',
        true,
        delivery === 'as given'
          ? 'Email: expected an email address, got boolean.'
          : 'Email: "true" is not an email address: it needs one "@" between a name and a domain.',
      ],
      ['null', null, 'Email: is empty. Map a field that always holds an email address.'],
      ['missing', undefined, 'Email: is empty. Map a field that always holds an email address.'],
    ])('refuses %s before any request', async (_title, email, expected) => {
      await expectHalt(addUser, adminAuth, { email }, expected);
    });

    it('shortens a huge value in the message', async () => {
      const huge = 'x'.repeat(200);
      await expectHalt(
        findUser,
        adminAuth,
        { email: `${huge} @example.com` },
        `Email: "${'x'.repeat(40)}…" contains spaces; an email address has none.`,
      );
    });
  });

  describe('Credits', () => {
    const grantOf = (amount: number) => {
      admin()
        .patch('/users', { email: STORED, amount })
        .reply(200, { email: STORED, credits: amount });
    };
    const createWith = (credits: number) => {
      admin()
        .post('/users', { email: STORED, credits })
        .reply(201, { email: STORED, token: 't', credits });
    };

    it.each([
      ['"100" as text', '100', 100],
      ['" 42 " with spaces', ' 42 ', 42],
      ['"7.0"', '7.0', 7],
      ['"+3"', '+3', 3],
      ['the largest 32-bit integer', 2_147_483_647, 2_147_483_647],
    ])('Provision Credits grants %s as a number', async (_title, credits, amount) => {
      grantOf(amount);

      const result = await run(provision, adminAuth, { email: STORED, credits, mode: 'add' });

      expect(result).toMatchObject({ granted: amount });
    });

    it.each([
      ['"100" as text', '100', 100],
      ['0', 0, 0],
      ['"0"', '0', 0],
    ])(
      'Add User on the Administration API sends %s starting credits',
      async (_title, credits, sentCredits) => {
        createWith(sentCredits);

        const result = await run(addUser, adminAuth, { email: STORED, credits });

        expect(result).toMatchObject({ credits: sentCredits });
      },
    );

    it.each([
      ['"1,000" (thousands separated by a comma)', '1,000', 1000],
      ['"12,500"', '12,500', 12_500],
      ['"1 000" (separated by a space)', '1 000', 1000],
      ['"1\u202F000" (a narrow no-break space, as French formats it)', '1\u202F000', 1000],
      ['"2,500.00" (a price)', '2,500.00', 2500],
    ])('Provision Credits grants %s as a person reads it', async (_title, credits, amount) => {
      grantOf(amount);

      const result = await run(provision, adminAuth, { email: STORED, credits, mode: 'add' });

      expect(result).toMatchObject({ granted: amount });
    });

    it('Add User on the Administration API preloads "2,500" starting credits as 2500', async () => {
      createWith(2500);

      const result = await run(addUser, adminAuth, { email: STORED, credits: '2,500' });

      expect(result).toMatchObject({ credits: 2500 });
    });

    it('Provision Credits, Top Up reads "2,000" as 2000 and grants the difference', async () => {
      admin()
        .get('/users')
        .query({ email: STORED })
        .reply(200, [{ email: STORED, credits: 300 }]);
      grantOf(1700);

      const result = await run(provision, adminAuth, {
        email: STORED,
        credits: '2,000',
        mode: 'atLeast',
      });

      expect(result).toMatchObject({ granted: 1700 });
    });

    const range1 = 'is not a whole number from 1 to 2,147,483,647.';
    const range0 = 'is not a whole number from 0 to 2,147,483,647.';
    const help =
      'Digits only, or with thousands separators in groups of three (1000, 1,000 or 1 000).';
    it.each([
      ['0', 0, `Credits: ${asText(0)} ${range1}`],
      ['-5', -5, `Credits: ${asText(-5)} ${range1}`],
      ['1.5', 1.5, `Credits: ${asText(1.5)} ${range1} ${help}`],
      ['"1.5"', '1.5', `Credits: "1.5" ${range1} ${help}`],
      ['"1,5" (a decimal comma)', '1,5', `Credits: "1,5" ${range1} ${help}`],
      ['"1.000" (one, or a thousand?)', '1.000', `Credits: "1.000" ${range1} ${help}`],
      [
        '1e309 (JSON for Infinity)',
        INFINITY_FROM_JSON,
        `Credits: ${asText(Infinity)} ${range1} ${help}`,
      ],
      ['"1e309"', '1e309', `Credits: "1e309" ${range1} ${help}`],
      ['"1e3"', '1e3', `Credits: "1e3" ${range1} ${help}`],
      ['"1,00" (a group of two)', '1,00', `Credits: "1,00" ${range1} ${help}`],
      ['"12 and a half"', '12 and a half', `Credits: "12 and a half" ${range1} ${help}`],
      ['"500 credits"', '500 credits', `Credits: "500 credits" ${range1} ${help}`],
      ['"ten"', 'ten', `Credits: "ten" ${range1} ${help}`],
      ['"abc"', 'abc', `Credits: "abc" ${range1} ${help}`],
      ['2,147,483,648', 2_147_483_648, `Credits: ${asText(2_147_483_648)} ${range1}`],
      ['"2,147,483,648"', '2,147,483,648', `Credits: "2,147,483,648" ${range1}`],
      [
        'true',
        true,
        delivery === 'as given'
          ? `Credits: boolean ${range1} ${help}`
          : `Credits: "true" ${range1} ${help}`,
      ],
      ['empty', '', 'Credits: is empty. Map a whole number of 1 or more.'],
      ['only spaces', '   ', 'Credits: is empty. Map a whole number of 1 or more.'],
      ['null', null, 'Credits: is empty. Map a whole number of 1 or more.'],
    ])('Provision Credits refuses %s before any request', async (_title, credits, expected) => {
      await expectHalt(provision, adminAuth, { email: STORED, credits, mode: 'add' }, expected);
    });

    it.each([
      ['-5', -5, `Starting Credits: ${asText(-5)} ${range0}`],
      ['1.5', 1.5, `Starting Credits: ${asText(1.5)} ${range0} ${help}`],
      [
        '1e309 (JSON for Infinity)',
        INFINITY_FROM_JSON,
        `Starting Credits: ${asText(Infinity)} ${range0} ${help}`,
      ],
      ['"1e3"', '1e3', `Starting Credits: "1e3" ${range0} ${help}`],
      ['"2,5"', '2,5', `Starting Credits: "2,5" ${range0} ${help}`],
    ])(
      'Add User on the Administration API refuses %s before any request',
      async (_title, credits, expected) => {
        await expectHalt(addUser, adminAuth, { email: STORED, credits }, expected);
      },
    );
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

  describe('yes/no fields', () => {
    const WORDS: [string, boolean][] = [
      ['true', true],
      ['false', false],
      ['yes', true],
      ['no', false],
      ['1', true],
      ['0', false],
    ];

    it.each(WORDS)(
      'Send Invite Email "%s" is sent as the yes/no Deal.ai expects',
      async (word, invite) => {
        dealai()
          .post('/users', {
            firstName: 'Jane',
            email: STORED,
            sendInviteEmail: invite ? 'yes' : 'no',
          })
          .reply(200, '');

        const result = await run(addUser, dealaiAuth, {
          firstName: 'Jane',
          email: STORED,
          sendInviteEmail: word,
        });

        expect(result).toMatchObject({ inviteSent: invite });
      },
    );

    it.each(WORDS)('Clear Role When Empty "%s" with an empty Role', async (word, clear) => {
      if (clear) {
        dealai().patch('/users/role', { email: STORED }).reply(200, '');
        expect(
          await run(changeRole, dealaiAuth, { email: STORED, role: '', clearRole: word }),
        ).toMatchObject({ roleCleared: true });
      } else {
        await expectHalt(
          changeRole,
          dealaiAuth,
          { email: STORED, role: '', clearRole: word },
          /^Role: is empty/,
        );
      }
    });

    it.each(WORDS)('Succeed If Already Gone "%s" when the user is gone', async (word, ignore) => {
      admin().delete('/users', { email: STORED }).reply(404, 'Account does not exist', {
        'Content-Type': 'text/plain',
      });

      const outcome = run(removeUser, adminAuth, { email: STORED, ignoreMissing: word });

      if (ignore) {
        expect(await outcome).toEqual({
          provider: 'admin',
          email: STORED,
          removed: false,
          credits: null,
          stale: false,
          staleNote: null,
        });
      } else {
        const error = await failure(outcome);
        expect(error.name).toBe('AppError');
        expect(messageOf(error)).toBe(
          'Administration API found no such account (HTTP 404): Account does not exist',
        );
      }
    });

    const notYesOrNo =
      'is not yes or no. Choose Yes or No, or map a field that holds yes/no, true/false, 1/0 or on/off.';
    it.each(
      ['maybe', 'unsure', 'yeah', 'nope', '2'].flatMap(
        (word) =>
          [
            [
              'Send Invite Email',
              word,
              addUser,
              dealaiAuth,
              { firstName: 'Jane', sendInviteEmail: word },
            ],
            ['Clear Role When Empty', word, changeRole, dealaiAuth, { role: '', clearRole: word }],
            [
              'Clear Role When Empty',
              word,
              changeRole,
              dealaiAuth,
              { role: 'Premium Plan', clearRole: word },
            ],
            ['Succeed If Already Gone', word, removeUser, adminAuth, { ignoreMissing: word }],
          ] as const,
      ),
    )(
      '%s "%s" stops the step, naming the field and quoting the word, before any request',
      async (label, word, action, auth, input) => {
        await expectHalt(
          action,
          auth,
          { ...input, email: STORED },
          `${label}: "${word}" ${notYesOrNo}`,
        );
      },
    );

    it('Send Invite Email left empty means no (the default)', async () => {
      dealai()
        .post('/users', { firstName: 'Jane', email: STORED, sendInviteEmail: 'no' })
        .reply(200, '');

      const result = await run(addUser, dealaiAuth, {
        firstName: 'Jane',
        email: STORED,
        sendInviteEmail: '',
      });

      expect(result).toMatchObject({ inviteSent: false });
    });

    it('Succeed If Already Gone left empty means no (the default): a missing user stops the step', async () => {
      admin().delete('/users', { email: STORED }).reply(404, 'Account does not exist', {
        'Content-Type': 'text/plain',
      });

      const error = await failure(run(removeUser, adminAuth, { email: STORED, ignoreMissing: '' }));

      expect(error.name).toBe('AppError');
    });
  });
});
