/**
 * Zapier's integration checks (test/support/integration-checks.ts) on the real app, and, for each
 * check, on a copy of the definition with one thing broken, so that the checker is proven to fail.
 */
import App from '../index';
import { editionOf } from '../src/editions';
import { editorView } from './support/editor';
import {
  checkApp,
  definitionOf,
  formatFinding,
  isDateLike,
  isIsoDateTime,
  markdownProblems,
} from './support/integration-checks';
import type { Finding } from './support/integration-checks';
import { isRecord } from '../src/records';

type JsonObject = Record<string, unknown>;

/** A deep copy of the real definition (serialized as Zapier's checks see it) to break. */
const copy = (): JsonObject => structuredClone(definitionOf(App));

/** The value at a finding-style path: array items are named by their `key`, else their index. */
const get = (root: unknown, path: string): unknown => {
  let node: unknown = root;
  for (const segment of path.split('.')) {
    if (Array.isArray(node)) {
      const items: unknown[] = node;
      node = items.find((item) => isRecord(item) && item.key === segment) ?? items[Number(segment)];
    } else {
      node = isRecord(node) ? node[segment] : undefined;
    }
  }
  return node;
};

const parentOf = (root: JsonObject, path: string): { parent: unknown; name: string } => {
  const dot = path.lastIndexOf('.');
  return { parent: get(root, path.slice(0, dot)), name: path.slice(dot + 1) };
};

const set = (root: JsonObject, path: string, value: unknown): void => {
  const { parent, name } = parentOf(root, path);
  if (Array.isArray(parent)) {
    const items: unknown[] = parent;
    items[Number(name)] = value;
  } else if (isRecord(parent)) {
    parent[name] = value;
  } else {
    throw new Error(`nothing to set at ${path}`);
  }
};

const unset = (root: JsonObject, path: string): void => {
  const { parent, name } = parentOf(root, path);
  if (!isRecord(parent) || !(name in parent)) {
    throw new Error(`nothing to remove at ${path}`);
  }
  Reflect.deleteProperty(parent, name);
};

const push = (root: JsonObject, path: string, value: unknown): void => {
  const list = get(root, path);
  if (!Array.isArray(list)) {
    throw new Error(`no list at ${path}`);
  }
  const items: unknown[] = list;
  items.push(value);
};

/**
 * The findings that breaking the copy added, as code and key. Findings the real app already has
 * are left out, so each test below pins its own check whatever the state of the real app.
 */
const introduced = (broken: JsonObject, options?: Parameters<typeof checkApp>[1]): Finding[] => {
  const before = new Set(checkApp(copy(), options).map(formatFinding));
  return checkApp(broken, options).filter((finding) => !before.has(formatFinding(finding)));
};

const codesAndKeys = (findings: Finding[]): { code: string; key: string }[] =>
  findings.map(({ code, key }) => ({ code, key }));

/** Breaks a copy with `change` and returns the code and key of each finding that adds. */
const breakWith = (change: (app: JsonObject) => void): { code: string; key: string }[] => {
  const app = copy();
  change(app);
  return codesAndKeys(introduced(app));
};

describe('the real app', () => {
  // The integration's gate: Zapier's review would flag each line listed here. Fix the definition
  // (src/), never this checker; each line reads "CODE path: what to change".
  it('passes every integration check', () => {
    expect(checkApp(App).map(formatFinding)).toEqual([]);
  });

  it('is checked as plain data, with functions as Zapier markers', () => {
    const definition = definitionOf(App);
    expect(get(definition, 'creates.add_user.operation.perform')).toBe('$func$2$f$');
    expect(get(definition, 'authentication.test')).toBe('$func$2$f$');
    expect(() => definitionOf([])).toThrow('An app definition is an object.');
  });
});

/**
 * The simpler rules where a nuance decides: a connection label must vary (a function passes), a
 * hidden action needs no sample but an empty one counts as none, a search-or-create's key is its
 * search's, and a computed create field passes only with its reason written down. D002, D007 and
 * D009 read one value each and are left to the real app's run above; the subtle rules (D008, D010,
 * D011, D018, D023, D024, DESC, POLL) have their own blocks below.
 */
describe('the nuances of the simpler rules', () => {
  const rows: [string, (app: JsonObject) => void, { code: string; key: string }[]][] = [
    [
      'D003: a connection label that is the same for every connection, as the reference says',
      (app) => {
        set(app, 'authentication.connectionLabel', 'White Label');
      },
      [{ code: 'D003', key: 'authentication.connectionLabel' }],
    ],
    [
      'D012: an empty sample (with the D010 and D024 findings an empty sample brings)',
      (app) => {
        set(app, 'searches.find_user.operation.sample', {});
      },
      [
        { code: 'D010', key: 'searches.find_user.operation.sample.email' },
        { code: 'D012', key: 'searches.find_user.operation.sample' },
        { code: 'D024', key: 'searches.find_user.operation.sample.email' },
        { code: 'D024', key: 'searches.find_user.operation.sample.credits' },
      ],
    ],
    [
      "D015: a search-or-create whose key is not its search's",
      (app) => {
        set(app, 'searchOrCreates.find_user.key', 'find_or_add_user');
      },
      [{ code: 'D015', key: 'searchOrCreates.find_user.key' }],
    ],
    [
      'D022: a create with a field computed by a function, and no reason written down',
      (app) => {
        push(app, 'creates.provision_credits.operation.inputFields', '$func$2$f$');
      },
      [{ code: 'D022', key: 'creates.provision_credits.operation.inputFields' }],
    ],
  ];

  it.each(rows)('flag %s', (_name, change, expected) => {
    expect(breakWith(change)).toEqual(expected);
  });

  it.each([
    [
      'D003: a connection label computed by a function',
      (app: JsonObject) => {
        set(app, 'authentication.connectionLabel', '$func$2$f$');
      },
    ],
    [
      'D012: a hidden action without a sample',
      (app: JsonObject) => {
        unset(app, 'creates.remove_user.operation.sample');
        set(app, 'creates.remove_user.display.hidden', true);
      },
    ],
  ])('accept %s', (_name, change) => {
    const app = copy();
    change(app);
    expect(introduced(app)).toEqual([]);
  });

  it('accept (D022) dynamic fields whose reason is written down', () => {
    const options = {
      dynamicInputReasons: { 'creates.provision_credits': 'the modes come from the site' },
    };
    const app = copy();
    push(app, 'creates.provision_credits.operation.inputFields', '$func$2$f$');
    expect(introduced(app, options)).toEqual([]);
  });
});

describe('the fields the editor resolves', () => {
  // Dynamic fields are functions in the definition; here they are replaced by what the editor
  // gets for each kind of connection and edition, so every check reads them too. An edition's
  // output fields too (D024 against its provider's sample); not those of the integration of both
  // providers, whose sample holds only the keys both return, so that it is in every live result.
  const apps: [string, object, Record<string, string>, boolean][] = [
    ['no connection yet', App, {}, false],
    ['a Deal.ai connection', App, { provider: 'dealai', apiKey: 'k' }, false],
    ['a Deal.ai connection listing roles', App, { provider: 'dealai', roles: 'Gold' }, false],
    ['an Administration API connection', App, { provider: 'admin', apiKey: 'k' }, false],
    ['the Deal.ai edition', editionOf(App, 'dealai'), { apiKey: 'k' }, true],
    ['the Administration API edition', editionOf(App, 'admin'), { apiKey: 'k' }, true],
  ];

  it.each(apps)('pass every integration check on %s', async (_name, app, authData, outputs) => {
    const resolved = structuredClone(definitionOf(app));
    for (const view of await editorView(app, authData)) {
      set(resolved, `${view.path}.operation.inputFields`, view.inputFields);
      if (outputs) {
        set(resolved, `${view.path}.operation.outputFields`, view.outputFields);
      }
    }
    expect(checkApp(resolved).map(formatFinding)).toEqual([]);
  });
});

describe('D008: Markdown links are well formed', () => {
  it('flags a broken link in an action description', () => {
    expect(
      breakWith((app) => {
        set(
          app,
          'creates.remove_user.display.description',
          'Removes a user from your site. See [the guide(https://example.com/guide).',
        );
      }),
    ).toEqual([{ code: 'D008', key: 'creates.remove_user.display.description' }]);
  });

  it('flags a bare URL in field help text', () => {
    expect(
      breakWith((app) => {
        set(
          app,
          'searches.find_user.operation.inputFields.email.helpText',
          'The email address to look for, as listed at https://example.com/users.',
        );
      }),
    ).toEqual([{ code: 'D008', key: 'searches.find_user.operation.inputFields.email.helpText' }]);
  });

  it.each([
    ['See [Google(https://google.com)', /unbalanced/],
    ['See https://google.com', /bare URL/],
    ['See [](https://google.com)', /no link text/],
    ['See [Google]()', /no URL/],
    ['See [Google](google.com)', /absolute/],
    ['See [Google](https://google.com/a b)', /absolute/],
  ])('reads %j as invalid', (text, problem) => {
    expect(markdownProblems(text).join('; ')).toMatch(problem);
  });

  it.each([
    'See [Google](https://google.com)',
    'See `https://google.com`',
    'Plain text (with parentheses) and [brackets].',
    'It must use https://, except on localhost.',
  ])('reads %j as valid', (text) => {
    expect(markdownProblems(text)).toEqual([]);
  });
});

describe('D010: the sample contains the primary key', () => {
  it('flags a sample without "id" when no output field is primary', () => {
    expect(
      breakWith((app) => {
        unset(app, 'creates.change_role.operation.outputFields.email.primary');
      }),
    ).toEqual([{ code: 'D010', key: 'creates.change_role.operation.sample.id' }]);
  });

  it('accepts "id" in the sample when no output field is primary', () => {
    const app = copy();
    unset(app, 'creates.change_role.operation.outputFields.email.primary');
    set(app, 'creates.change_role.operation.sample.id', 1);
    expect(introduced(app)).toEqual([]);
  });

  it('flags a sample without a primary field (which is also a missing output field)', () => {
    expect(
      breakWith((app) => {
        unset(app, 'searches.find_user.operation.sample.email');
      }),
    ).toEqual([
      { code: 'D010', key: 'searches.find_user.operation.sample.email' },
      { code: 'D024', key: 'searches.find_user.operation.sample.email' },
    ]);
  });
});

describe('D011: help text says more than the label', () => {
  it.each([
    ['Mode', /repeats the label/],
    ['The mode.', /says no more than the label/],
    ['Plan name.', /is 10 characters/],
  ])('flags %j as the help text of "Mode"', (helpText, message) => {
    const app = copy();
    set(app, 'creates.provision_credits.operation.inputFields.mode.helpText', helpText);
    const findings = introduced(app);
    expect(codesAndKeys(findings)).toEqual([
      { code: 'D011', key: 'creates.provision_credits.operation.inputFields.mode.helpText' },
    ]);
    expect(findings[0]?.message).toMatch(message);
  });

  it('checks connection fields too', () => {
    expect(
      breakWith((app) => {
        set(app, 'authentication.fields.baseUrl.helpText', 'base url');
      }),
    ).toEqual([{ code: 'D011', key: 'authentication.fields.baseUrl.helpText' }]);
  });
});

describe('D018: labels in Title Case', () => {
  it.each([
    ['creates.add_user.display.label', 'Add user'],
    ['searchOrCreates.find_user.display.label', 'find or add user'],
    ['creates.provision_credits.operation.inputFields.idempotencyKey.label', 'Idempotency key'],
    ['creates.provision_credits.operation.outputFields.granted.label', 'Credits granted'],
    ['authentication.fields.apiKey.label', 'API key'],
  ])('flags %s = %j', (path, label) => {
    expect(
      breakWith((app) => {
        set(app, path, label);
      }),
    ).toEqual([{ code: 'D018', key: path }]);
  });

  it('names the Title Case version in the message', () => {
    const app = copy();
    set(app, 'searchOrCreates.find_user.display.label', 'find or add a user');
    expect(introduced(app).map((finding) => finding.message)).toEqual([
      '"find or add a user" is not in Title Case: "Find or Add a User".',
    ]);
  });

  it.each(['Find or Add a User', 'Clear Role When Empty', 'Succeed if Already Gone', 'API URL'])(
    'accepts %j',
    (label) => {
      const app = copy();
      set(app, 'creates.change_role.display.label', label);
      expect(introduced(app)).toEqual([]);
    },
  );
});

describe('D023: date-times in samples are ISO-8601 with a zone', () => {
  it('flags a date-time without a zone', () => {
    expect(
      breakWith((app) => {
        set(app, 'creates.add_user.operation.sample.createdAt', '2023-08-01T06:50:30');
      }),
    ).toEqual([{ code: 'D023', key: 'creates.add_user.operation.sample.createdAt' }]);
  });

  it('looks into nested sample values', () => {
    expect(
      breakWith((app) => {
        set(app, 'searches.find_user.operation.sample.history', [{ at: '01 Aug 2023 06:50:30' }]);
      }),
    ).toEqual([{ code: 'D023', key: 'searches.find_user.operation.sample.history.0.at' }]);
  });

  it.each([
    '01 Aug 2023',
    '01 Aug 2023 06:50:30',
    '2023-08-01T06:50:30',
    'Aug 1, 2023',
    '8/1/2023',
  ])('reads %j as a date that is not ISO-8601 with a zone', (text) => {
    expect([isDateLike(text), isIsoDateTime(text)]).toEqual([true, false]);
  });

  it.each([
    '2023-08-01',
    '2023-08-01T06:50:30-0500',
    '2023-09-15T09:59:59Z',
    '2023-12-01T12:32:01-08:00',
  ])('reads %j as ISO-8601', (text) => {
    expect(isIsoDateTime(text)).toBe(true);
  });

  it.each(['jane.doe@example.com', 'a1-0dF6qKHYD7SNU5kAtjOmwHpH3iFgpylA', 'Premium Plan', '1500'])(
    'does not take %j for a date',
    (text) => {
      expect(isDateLike(text)).toBe(false);
    },
  );
});

describe('D024: samples respect the output fields', () => {
  it('flags an output field missing from the sample', () => {
    expect(
      breakWith((app) => {
        unset(app, 'creates.provision_credits.operation.sample.granted');
      }),
    ).toEqual([{ code: 'D024', key: 'creates.provision_credits.operation.sample.granted' }]);
  });

  it.each([
    ['creates.provision_credits.operation.sample.credits', '1500'],
    ['creates.provision_credits.operation.sample.granted', 2.5],
    ['creates.remove_user.operation.sample.removed', 'yes'],
    ['creates.change_role.operation.sample.role', 7],
  ])('flags %s = %j for its type', (path, value) => {
    const app = copy();
    set(app, path, value);
    const findings = introduced(app);
    expect(codesAndKeys(findings)).toEqual([{ code: 'D024', key: path }]);
    expect(findings[0]?.message).toMatch(/has type (integer|boolean|string), but the sample has/);
  });

  it('accepts null for any type', () => {
    const app = copy();
    set(app, 'creates.provision_credits.operation.sample.credits', null);
    set(app, 'creates.remove_user.operation.sample.removed', null);
    expect(introduced(app)).toEqual([]);
  });

  it('wants an ISO-8601 string for a datetime, and reads a__b as a nested field', () => {
    const app = copy();
    push(app, 'searches.find_user.operation.outputFields', {
      key: 'plan__renewsAt',
      label: 'Plan Renews At',
      type: 'datetime',
    });
    set(app, 'searches.find_user.operation.sample.plan', { renewsAt: '2026-12-01T00:00:00Z' });
    expect(introduced(app)).toEqual([]);
    set(app, 'searches.find_user.operation.sample.plan', { renewsAt: 1796083200 });
    expect(codesAndKeys(introduced(app))).toEqual([
      { code: 'D024', key: 'searches.find_user.operation.sample.plan__renewsAt' },
    ]);
  });
});

describe('DESC: action description conventions', () => {
  it.each([
    [
      'creates.add_user.display.description',
      'Add a user to your white-label site.',
      /third-person/,
    ],
    ['searches.find_user.display.description', 'Looks up a user by email address.', /"Finds"/],
    [
      'searchOrCreates.find_user.display.description',
      'Finds a user. Adds one. Says so. Then stops.',
      /1 to 3 sentences, not 4/,
    ],
    [
      'creates.remove_user.display.description',
      'Removes a user from your white-label site',
      /end with a period/,
    ],
    [
      'creates.change_role.display.description',
      "Updates a user's role with Whitelabel Users.",
      /not name the integration/,
    ],
    [
      'triggers.new_user.display.description',
      'Fires when a user signs up.',
      /start with "Triggers when", not "Fires when"/,
    ],
    [
      'triggers.credits_low.display.description',
      'Triggers when credits run low',
      /end with a period/,
    ],
  ])('flags %s = %j', (path, description, message) => {
    const app = copy();
    set(app, path, description);
    const findings = introduced(app);
    expect(codesAndKeys(findings)).toEqual([{ code: 'DESC', key: path }]);
    expect(findings[0]?.message).toMatch(message);
  });

  it('takes the names to avoid from the options', () => {
    const app = copy();
    set(app, 'creates.change_role.display.description', "Updates a user's role in Acme Admin.");
    expect(codesAndKeys(introduced(app, { appNames: ['Acme Admin'] }))).toEqual([
      { code: 'DESC', key: 'creates.change_role.display.description' },
    ]);
  });
});

describe('POLL: a polling trigger gives Zapier an ID to deduplicate by', () => {
  it.each([
    ['null', null],
    ['an empty string', ' '],
    ['an object', { email: 'jane@example.com' }],
  ])('flags a sample ID that is %s', (_case, id) => {
    expect(
      breakWith((app) => {
        set(app, 'triggers.new_user.operation.sample.id', id);
      }),
    ).toEqual(
      expect.arrayContaining([{ code: 'POLL', key: 'triggers.new_user.operation.sample.id' }]),
    );
  });

  it('flags a trigger that does not declare its ID as an output field', () => {
    expect(
      breakWith((app) => {
        set(app, 'triggers.credits_low.operation.outputFields', [
          { key: 'email', label: 'Email', type: 'string' },
        ]);
      }),
    ).toEqual([{ code: 'POLL', key: 'triggers.credits_low.operation.outputFields' }]);
  });

  it('asks for the fields marked primary instead of "id" when there are some', () => {
    const app = copy();
    set(app, 'triggers.new_user.operation.outputFields.email.primary', true);
    expect(introduced(app)).toEqual([]);
    set(app, 'triggers.new_user.operation.sample.email', 7.5);
    expect(codesAndKeys(introduced(app))).toEqual([
      { code: 'D024', key: 'triggers.new_user.operation.sample.email' },
    ]);
    set(app, 'triggers.new_user.operation.sample.email', '');
    expect(codesAndKeys(introduced(app))).toEqual([
      { code: 'POLL', key: 'triggers.new_user.operation.sample.email' },
    ]);
  });

  it('leaves hook triggers alone', () => {
    const app = copy();
    set(app, 'triggers.new_user.operation.type', 'hook');
    set(app, 'triggers.new_user.operation.outputFields', []);
    expect(introduced(app)).toEqual([]);
  });

  it('relies on D012 for a trigger without a sample, and on D010 for a sample without an ID', () => {
    expect(
      breakWith((app) => {
        unset(app, 'triggers.credits_low.operation.sample');
      }),
    ).toEqual([{ code: 'D012', key: 'triggers.credits_low.operation.sample' }]);
    expect(
      breakWith((app) => {
        unset(app, 'triggers.new_user.operation.sample.id');
      }),
    ).toEqual([
      { code: 'D010', key: 'triggers.new_user.operation.sample.id' },
      { code: 'D024', key: 'triggers.new_user.operation.sample.id' },
    ]);
  });
});
