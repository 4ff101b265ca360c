/**
 * Zapier's integration checks, the ones that can be decided from the app definition alone, run
 * offline so that a pull request fails before Zapier's review would.
 *
 * Reference: https://docs.zapier.com/platform/publish/integration-checks-reference (each check's
 * code below is Zapier's). Where this file is stricter than the reference, the check's comment
 * says so. `DESC` and `POLL` are ours: the house rules for action descriptions, and what
 * Zapier's deduplication needs from a polling trigger.
 *
 * Like Zapier, the checks read the serialized definition (`definitionOf`): functions are replaced
 * by `$func$<arity>$f$` markers, the way `zapier-platform build` writes definition.json.
 *
 * A finding's `key` is the path of the offending value, with array items named by their `key`
 * (`authentication.fields.apiKey.helpText`, `creates.add_user.operation.inputFields.email.label`)
 * and by their index when they have none.
 */
import { name as packageName } from '../../package.json';
import { isRecord } from '../../src/records';

export interface Finding {
  code: string;
  key: string;
  message: string;
}

export interface CheckOptions {
  /** Names of the integration that action descriptions must not use (DESC). */
  appNames?: readonly string[];
  /**
   * Creates whose input fields are computed by a function, each with the reason why (D022), keyed
   * by path: `{ 'creates.add_user': 'the fields depend on the roles the site defines' }`.
   */
  dynamicInputReasons?: Readonly<Record<string, string>>;
}

/**
 * Why a create computes some of its input fields. Each still lists Email (and its other fields
 * that every connection shows) statically, so that Zap templates can fill them in.
 */
const DYNAMIC_INPUT_REASONS: Readonly<Record<string, string>> = {
  'creates.add_user':
    "the profile fields (Deal.ai) and Starting Credits (Administration API) follow the connection's provider",
  'creates.change_role': 'Role offers the roles listed on the connection as a dropdown',
  'creates.remove_user': "the warning says what removing means on the connection's provider",
};

/**
 * What the integration is called: package.json's `name` ("whitelabel-users-zapier"), and that
 * name without the "zapier" suffix ("whitelabel-users"). The definition itself has no title; the
 * title lives on Zapier (set by `zapier-platform register`). Matching ignores case, spaces and
 * punctuation, so "Whitelabel Users" and "white-label users" both count.
 */
const APP_NAMES: readonly string[] = [packageName, packageName.replace(/[-_ ]?zapier$/i, '')];

/** A set of the words of `text`, which lists them separated by white space. */
const wordSet = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/));

/** Third-person verbs a create's description may start with (DESC). */
const CREATE_VERBS = wordSet(`
  Activates Adds Appends Approves Archives Assigns Attaches Cancels Changes Clears Closes
  Completes Copies Creates Deactivates Deletes Grants Invites Marks Moves Posts Provisions
  Publishes Registers Removes Renames Replaces Resets Restores Revokes Schedules Sends Sets
  Starts Stops Submits Subscribes Unsubscribes Updates Uploads Upserts
`);

/** Words a Title Case label may keep in lower case, except as its first word (D018). */
const SMALL_WORDS = wordSet(`
  a an and as at but by for if in nor of on or per the to via vs when with
`);

/** D011: help text shorter than this adds nothing a label could not say. */
const MIN_HELP_TEXT_CHARS = 20;

const FUNCTION_MARKER = /^\$func\$\d+\$[tf]\$$/;
const ACTION_GROUPS = ['triggers', 'searches', 'creates'] as const;
const SEARCH_OR_CREATE_GROUPS = ['searchOrCreates', 'searchAndCreates'] as const;
const CREDENTIAL_KEY = /api[-_ ]?key|token|secret|password/i;
const MARKDOWN_LINK = /\[([^[\]]*)\]\(([^()]*)\)/g;
const ABSOLUTE_URL = /^https?:\/\/[^\s/?#]+[^\s]*$/i;
const BARE_URL = /https?:\/\/[\w[]/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\\.?';
const DATE_LIKE: readonly RegExp[] = [
  /^\d{4}-\d{2}-\d{2}/,
  /^\d{4}\/\d{1,2}\/\d{1,2}/,
  /^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b/,
  new RegExp(`^(\\w{3},? )?\\d{1,2}[ -]${MONTH}[ -,]+\\d{4}\\b`, 'i'),
  new RegExp(`^(\\w{3},? )?${MONTH} \\d{1,2}(st|nd|rd|th)?,? \\d{4}\\b`, 'i'),
];
/** Filler that does not make help text say more than its label (D011). */
const FILLER = wordSet(`
  a an enter field here its of please s the this user value your
`);

type JsonObject = Record<string, unknown>;

const isDynamic = (value: unknown): boolean =>
  typeof value === 'string' && FUNCTION_MARKER.test(value);

const textOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** The entries of an object whose values are objects: the actions of a group, say. */
const recordsIn = (value: unknown): [string, JsonObject][] =>
  isRecord(value)
    ? Object.entries(value).flatMap(([key, item]): [string, JsonObject][] =>
        isRecord(item) ? [[key, item]] : [],
      )
    : [];

/** The path segment of an array item: its `key` when it has one, else its index. */
const segmentOf = (item: unknown, index: number): string => {
  const key = isRecord(item) ? item.key : undefined;
  return typeof key === 'string' && key !== '' ? key : String(index);
};

/** The static fields of a field list, each with its path segment. */
const fieldsIn = (value: unknown): [string, JsonObject][] =>
  Array.isArray(value)
    ? value.flatMap((item: unknown, index): [string, JsonObject][] =>
        isRecord(item) ? [[segmentOf(item, index), item]] : [],
      )
    : [];

const serialize = (value: unknown): unknown => {
  if (typeof value === 'function') {
    return `$func$${value.length}$f$`;
  }
  if (Array.isArray(value)) {
    return value.map(serialize);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, serialize(item)]));
  }
  return value;
};

/** The definition as Zapier's checks see it: plain data, functions replaced by markers. */
export const definitionOf = (app: object): JsonObject => {
  const definition = serialize(app);
  if (!isRecord(definition)) {
    throw new Error('An app definition is an object.');
  }
  return definition;
};

/** One line per finding, for test failures that read like a review. */
export const formatFinding = (finding: Finding): string =>
  `${finding.code} ${finding.key}: ${finding.message}`;

interface Action {
  path: string;
  group: (typeof ACTION_GROUPS)[number];
  display: JsonObject;
  operation: JsonObject;
}

const displayOf = (definition: JsonObject): JsonObject =>
  isRecord(definition.display) ? definition.display : {};

const actionsOf = (app: JsonObject): Action[] =>
  ACTION_GROUPS.flatMap((group) =>
    recordsIn(app[group]).map(([key, definition]) => ({
      path: `${group}.${key}`,
      group,
      display: displayOf(definition),
      operation: isRecord(definition.operation) ? definition.operation : {},
    })),
  );

type Kind = 'create' | 'search' | 'trigger';

const KIND_OF_GROUP: Readonly<Record<Action['group'], Kind>> = {
  creates: 'create',
  searches: 'search',
  triggers: 'trigger',
};

interface Displayed {
  key: string;
  kind: Kind;
  value: unknown;
}

/** The `display` label or description of every action and search-or-create, with its path. */
const displayedOf = (app: JsonObject, name: 'label' | 'description'): Displayed[] => [
  ...actionsOf(app).map(({ path, group, display }) => ({
    key: `${path}.display.${name}`,
    kind: KIND_OF_GROUP[group],
    value: display[name],
  })),
  ...SEARCH_OR_CREATE_GROUPS.flatMap((group) =>
    recordsIn(app[group]).map(([key, definition]): Displayed => ({
      key: `${group}.${key}.display.${name}`,
      kind: 'search',
      value: displayOf(definition)[name],
    })),
  ),
];

/** Every field with a label or help text: connection fields, and actions' input fields. */
const labelledFieldsOf = (app: JsonObject): [string, JsonObject][] => {
  const auth = isRecord(app.authentication) ? app.authentication : {};
  return [
    ...fieldsIn(auth.fields).map(([segment, field]): [string, JsonObject] => [
      `authentication.fields.${segment}`,
      field,
    ]),
    ...actionsOf(app).flatMap(({ path, operation }) =>
      fieldsIn(operation.inputFields).map(([segment, field]): [string, JsonObject] => [
        `${path}.operation.inputFields.${segment}`,
        field,
      ]),
    ),
  ];
};

const samplesOf = (app: JsonObject): { action: Action; sample: JsonObject }[] =>
  actionsOf(app).flatMap((action) =>
    isRecord(action.operation.sample) ? [{ action, sample: action.operation.sample }] : [],
  );

/** Visits every string in `value` with its path. */
const visitStrings = (
  value: unknown,
  path: string,
  visit: (text: string, path: string) => void,
): void => {
  if (typeof value === 'string') {
    visit(value, path);
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      visitStrings(item, `${path}.${segmentOf(item, index)}`, visit);
    });
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      visitStrings(item, path === '' ? key : `${path}.${key}`, visit);
    }
  }
};

const linksIn = (text: string): { text: string; url: string }[] =>
  [...text.matchAll(MARKDOWN_LINK)].map((match) => ({
    text: match[1] ?? '',
    url: match[2] ?? '',
  }));

// ---------------------------------------------------------------------------------------------
// The checks. Each takes the serialized definition and returns its findings.

type Check = (app: JsonObject, options: Required<CheckOptions>) => Finding[];

/**
 * D002: the help text of a pasted credential (a password field, or a key/token/secret field)
 * links, in Markdown, to the page where the user finds it.
 */
const d002: Check = (app) => {
  const auth = isRecord(app.authentication) ? app.authentication : {};
  return fieldsIn(auth.fields)
    .filter(([segment, field]) => field.type === 'password' || CREDENTIAL_KEY.test(segment))
    .flatMap(([segment, field]) =>
      linksIn(textOf(field.helpText) ?? '').some((link) => ABSOLUTE_URL.test(link.url.trim()))
        ? []
        : [
            {
              code: 'D002',
              key: `authentication.fields.${segment}.helpText`,
              message:
                'Link to the page where users find this credential, as a Markdown link: "Find it under [API settings](https://example.com/settings/api)."',
            },
          ],
    );
};

/**
 * D003: a connection label is set. The reference adds that it must identify the connected
 * account ("Slack" is wrong, "{{user}} @ {{team}}" right), so a fixed text fails too.
 */
const d003: Check = (app) => {
  if (!isRecord(app.authentication)) {
    return [];
  }
  const label = app.authentication.connectionLabel;
  const key = 'authentication.connectionLabel';
  if (isRecord(label) || isDynamic(label)) {
    return [];
  }
  if (typeof label !== 'string' || label.trim() === '') {
    return [{ code: 'D003', key, message: 'Set a connection label, such as "{{email}}".' }];
  }
  return label.includes('{{')
    ? []
    : [
        {
          code: 'D003',
          key,
          message: `"${label}" is the same for every connection; name the account with a {{field}} from the connection test or the connection fields.`,
        },
      ];
};

/** D007: every URL in the definition is https. All strings are scanned for "http://". */
const d007: Check = (app) => {
  const findings: Finding[] = [];
  visitStrings(app, '', (text, path) => {
    const match = /http:\/\/\S*/i.exec(text);
    if (match !== null) {
      findings.push({
        code: 'D007',
        key: path,
        message: `"${match[0]}" is not https; use https://.`,
      });
    }
  });
  return findings;
};

/** What is wrong with the Markdown of `text`, if anything (D008). */
export const markdownProblems = (text: string): string[] => {
  const problems: string[] = [];
  const withoutCode = text.replace(/`[^`]*`/g, ' ');
  for (const link of linksIn(withoutCode)) {
    const shown = `[${link.text}](${link.url})`;
    if (link.text.trim() === '') {
      problems.push(`${shown} has no link text`);
    }
    if (link.url.trim() === '') {
      problems.push(`${shown} has no URL`);
    } else if (!ABSOLUTE_URL.test(link.url)) {
      problems.push(`${shown} does not link to an absolute http(s) URL`);
    }
  }
  const rest = withoutCode.replace(MARKDOWN_LINK, ' ');
  const count = (pattern: RegExp): number => (rest.match(pattern) ?? []).length;
  if (rest.includes('](') || count(/\[/g) !== count(/\]/g) || count(/\(/g) !== count(/\)/g)) {
    problems.push('has unbalanced brackets or parentheses: a link is written [text](https://...)');
  }
  if (BARE_URL.test(rest)) {
    problems.push('has a bare URL: make it a [link](https://...) or put it in `backticks`');
  }
  return problems;
};

/** D008: links in action descriptions and in help texts are well formed Markdown. */
const d008: Check = (app) =>
  [
    ...displayedOf(app, 'description'),
    ...labelledFieldsOf(app).map(([path, field]) => ({
      key: `${path}.helpText`,
      value: field.helpText,
    })),
  ].flatMap(({ key, value }) => {
    const problems = typeof value === 'string' ? markdownProblems(value) : [];
    return problems.length === 0
      ? []
      : [{ code: 'D008', key, message: `Invalid Markdown: ${problems.join('; ')}.` }];
  });

/**
 * D009: a search has a field to search by. Stricter than the reference, which asks for a search
 * field: at least one static input field must be required, so the search never runs without one.
 */
const d009: Check = (app) =>
  actionsOf(app)
    .filter(({ group }) => group === 'searches')
    .flatMap(({ path, operation }) =>
      fieldsIn(operation.inputFields).some(([, field]) => field.required === true)
        ? []
        : [
            {
              code: 'D009',
              key: `${path}.operation.inputFields`,
              message:
                'A search needs at least one required input field to search by (a dynamic field cannot be checked offline).',
            },
          ],
    );

/** The keys of the output fields marked `primary` (D010, POLL). */
const primaryOf = (operation: JsonObject): string[] =>
  fieldsIn(operation.outputFields)
    .filter(([, field]) => field.primary === true)
    .map(([segment]) => segment);

/**
 * D010: the static sample holds the primary key: every output field marked `primary`, or `id`
 * when none is marked.
 */
const d010: Check = (app) =>
  samplesOf(app).flatMap(({ action, sample }) => {
    const primary = primaryOf(action.operation);
    const keys = primary.length > 0 ? primary : ['id'];
    return keys
      .filter((key) => !(key in sample))
      .map((key) => ({
        code: 'D010',
        key: `${action.path}.operation.sample.${key}`,
        message:
          primary.length > 0
            ? `The sample lacks the primary key field "${key}".`
            : 'No output field is marked primary, so the primary key is "id", which the sample lacks. Mark the identifying output field `primary: true`.',
      }));
  });

const wordsOf = (text: string): string[] =>
  text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');

/**
 * D011: help text says more than the label. The reference flags help text equal to the label;
 * stricter here, it also must not only repeat the label's words (plus filler such as "the" or
 * "enter your") and must be at least MIN_HELP_TEXT_CHARS characters long.
 */
const d011: Check = (app) =>
  labelledFieldsOf(app).flatMap(([path, field]) => {
    const help = textOf(field.helpText);
    if (help === undefined) {
      return [];
    }
    const label = textOf(field.label) ?? '';
    const labelWords = new Set(wordsOf(label));
    const extra = wordsOf(help).filter((word) => !labelWords.has(word) && !FILLER.has(word));
    const trimmed = help.trim();
    const message =
      wordsOf(help).join(' ') === wordsOf(label).join(' ')
        ? `The help text repeats the label "${label}".`
        : extra.length === 0
          ? `The help text "${trimmed}" says no more than the label "${label}".`
          : trimmed.length < MIN_HELP_TEXT_CHARS
            ? `The help text "${trimmed}" is ${trimmed.length} characters; say what the field is for in at least ${MIN_HELP_TEXT_CHARS}.`
            : undefined;
    return message === undefined ? [] : [{ code: 'D011', key: `${path}.helpText`, message }];
  });

/** D012: every visible trigger, search and create has a static sample. */
const d012: Check = (app) =>
  actionsOf(app)
    .filter(({ display }) => display.hidden !== true)
    .flatMap(({ path, operation }) =>
      isRecord(operation.sample) && Object.keys(operation.sample).length > 0
        ? []
        : [
            {
              code: 'D012',
              key: `${path}.operation.sample`,
              message: 'A visible action needs a static sample with the fields it returns.',
            },
          ],
    );

/** D015: a search-or-create names an existing search and create, and shares the search's key. */
const d015: Check = (app) =>
  SEARCH_OR_CREATE_GROUPS.flatMap((group) =>
    recordsIn(app[group]).flatMap(([name, definition]) => {
      const findings: Finding[] = [];
      const search = textOf(definition.search);
      const create = textOf(definition.create);
      const searches = isRecord(app.searches) ? app.searches : {};
      const creates = isRecord(app.creates) ? app.creates : {};
      if (search === undefined || !isRecord(searches[search])) {
        findings.push({
          code: 'D015',
          key: `${group}.${name}.search`,
          message: `"${String(search)}" is not a search of this integration.`,
        });
      }
      if (create === undefined || !isRecord(creates[create])) {
        findings.push({
          code: 'D015',
          key: `${group}.${name}.create`,
          message: `"${String(create)}" is not a create of this integration.`,
        });
      }
      if (definition.key !== search || name !== search) {
        findings.push({
          code: 'D015',
          key: `${group}.${name}.key`,
          message: `The key of a search-or-create must be its search's key ("${String(search)}").`,
        });
      }
      return findings;
    }),
  );

/** A label in Title Case: every word capitalized except SMALL_WORDS after the first. */
const titleCase = (label: string): string =>
  label
    .split(' ')
    .map((word, index) =>
      index > 0 && SMALL_WORDS.has(word.toLowerCase())
        ? word
        : word.replace(/\p{Ll}/u, (letter) => letter.toUpperCase()),
    )
    .join(' ');

const isTitleCase = (label: string): boolean =>
  label
    .trim()
    .split(/\s+/)
    .every((word, index) => {
      const first = /[\p{L}\p{N}]/u.exec(word)?.[0];
      if (first === undefined || !/\p{Ll}/u.test(first)) {
        return true;
      }
      const bare = word.replace(/[^\p{L}\p{N}]/gu, '');
      // "iOS", "eBay": a brand's own casing.
      const branded = /\p{Lu}/u.test(bare.slice(1));
      return branded || (index > 0 && SMALL_WORDS.has(bare));
    });

/**
 * D018: labels in Title Case. The reference covers trigger, search and create labels; stricter
 * here, the labels of connection fields, input fields and output fields too.
 */
const d018: Check = (app) =>
  [
    ...displayedOf(app, 'label'),
    ...labelledFieldsOf(app).map(([path, field]) => ({ key: `${path}.label`, value: field.label })),
    ...actionsOf(app).flatMap(({ path, operation }) =>
      fieldsIn(operation.outputFields).map(([segment, field]) => ({
        key: `${path}.operation.outputFields.${segment}.label`,
        value: field.label,
      })),
    ),
  ].flatMap(({ key, value: label }) =>
    typeof label !== 'string' || isTitleCase(label)
      ? []
      : [{ code: 'D018', key, message: `"${label}" is not in Title Case: "${titleCase(label)}".` }],
  );

/**
 * D022: creates have static input fields (a list of plain objects), so Zap templates can fill
 * them in. Stricter than the reference ("try to have some"): every entry must be static, unless
 * the reason is written down in `dynamicInputReasons`.
 */
const d022: Check = (app, options) =>
  actionsOf(app)
    .filter(({ group }) => group === 'creates')
    .flatMap(({ path, operation }) => {
      const reason = options.dynamicInputReasons[path];
      if (reason !== undefined && reason.trim() !== '') {
        return [];
      }
      const fields = operation.inputFields;
      const message = !Array.isArray(fields)
        ? 'The create has no static list of input fields.'
        : fields.length === 0
          ? 'The create has no input fields.'
          : fields.every(isRecord)
            ? undefined
            : 'Some input fields are computed by a function; list them statically, or write down why not (dynamicInputReasons).';
      return message === undefined
        ? []
        : [{ code: 'D022', key: `${path}.operation.inputFields`, message }];
    });

/** D023: whether `text` reads as a date or a date-time, and if so whether it is ISO-8601. */
export const isDateLike = (text: string): boolean =>
  DATE_LIKE.some((pattern) => pattern.test(text.trim()));

export const isIsoDateTime = (text: string): boolean =>
  (ISO_DATE.test(text) || ISO_DATE_TIME.test(text)) && !Number.isNaN(Date.parse(text));

/**
 * D023: dates and date-times in samples are ISO-8601, with a time zone when there is a time:
 * "2023-08-01", "2023-08-01T06:50:30Z", "2023-08-01T06:50:30-05:00" or "...-0500" (the reference
 * accepts both offset forms).
 */
const d023: Check = (app) =>
  samplesOf(app).flatMap(({ action, sample }) => {
    const findings: Finding[] = [];
    visitStrings(sample, `${action.path}.operation.sample`, (text, path) => {
      if (isDateLike(text) && !isIsoDateTime(text)) {
        findings.push({
          code: 'D023',
          key: path,
          message: `"${text}" is not ISO-8601 with a time zone, like "2023-08-01T06:50:30Z".`,
        });
      }
    });
    return findings;
  });

/** The sample's value for an output field key; `a__b` is the nested `a.b`. */
const sampleValue = (sample: JsonObject, key: string): unknown => {
  if (key in sample) {
    return sample[key];
  }
  let value: unknown = sample;
  for (const part of key.split('__')) {
    value = isRecord(value) ? value[part] : undefined;
  }
  return value;
};

const TYPE_CHECKS: Readonly<Record<string, (value: unknown) => boolean>> = {
  integer: (value) => value === null || Number.isInteger(value),
  number: (value) => value === null || (typeof value === 'number' && Number.isFinite(value)),
  boolean: (value) => value === null || typeof value === 'boolean',
  string: (value) => value === null || typeof value === 'string',
  text: (value) => value === null || typeof value === 'string',
  password: (value) => value === null || typeof value === 'string',
  file: (value) => value === null || typeof value === 'string',
  datetime: (value) => value === null || (typeof value === 'string' && isIsoDateTime(value)),
};

const valueText = (value: unknown): string =>
  value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`;

/**
 * D024: the sample respects the output fields: each output field's key is in the sample (the
 * reference requires it of `required` fields; here of all, since every output field is offered
 * for mapping) and the value matches the field's type (null allowed).
 */
const d024: Check = (app) =>
  samplesOf(app).flatMap(({ action, sample }) =>
    fieldsIn(action.operation.outputFields)
      .filter(([segment]) => !segment.includes('[]'))
      .flatMap(([segment, field]) => {
        const key = `${action.path}.operation.sample.${segment}`;
        const value = sampleValue(sample, segment);
        if (value === undefined) {
          return [
            { code: 'D024', key, message: `The sample lacks the output field "${segment}".` },
          ];
        }
        const type = textOf(field.type);
        const fits = type === undefined ? undefined : TYPE_CHECKS[type];
        return fits === undefined || fits(value)
          ? []
          : [
              {
                code: 'D024',
                key,
                message: `The output field "${segment}" has type ${String(type)}, but the sample has ${valueText(value)}.`,
              },
            ];
      }),
  );

const normalizedName = (text: string): string => text.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/**
 * DESC (ours): a create's description starts with a third-person verb ("Creates", "Updates",
 * "Adds", "Removes"), a search's or search-or-create's with "Finds", a trigger's with "Triggers
 * when" (Zapier's own wording for triggers); 1 to 3 sentences ending in a period; and it never
 * names the integration itself.
 */
const desc: Check = (app, options) => {
  const names = options.appNames.map(normalizedName).filter((name) => name !== '');
  return displayedOf(app, 'description').flatMap(({ key, kind, value }) => {
    const text = (textOf(value) ?? '').trim();
    const problems: string[] = [];
    const firstWord = text.split(/\s+/)[0] ?? '';
    if (kind === 'create' && !CREATE_VERBS.has(firstWord)) {
      problems.push(
        `start with a third-person verb such as "Creates", "Updates", "Adds" or "Removes", not "${firstWord}"`,
      );
    }
    if (kind === 'search' && firstWord !== 'Finds') {
      problems.push(`start with "Finds", not "${firstWord}"`);
    }
    if (kind === 'trigger' && !text.startsWith('Triggers when ')) {
      problems.push(`start with "Triggers when", not "${text.split(/\s+/).slice(0, 2).join(' ')}"`);
    }
    const sentences = text.split(/(?<=[.!?])\s+/).filter((sentence) => sentence !== '');
    if (sentences.length < 1 || sentences.length > 3) {
      problems.push(`be 1 to 3 sentences, not ${sentences.length}`);
    }
    if (text !== '' && !text.endsWith('.')) {
      problems.push('end with a period');
    }
    const name = names.find((candidate) => normalizedName(text).includes(candidate));
    if (name !== undefined) {
      problems.push("not name the integration itself (Zapier shows the app's name beside it)");
    }
    return problems.length === 0
      ? []
      : [{ code: 'DESC', key, message: `The description should ${problems.join('; ')}.` }];
  });
};

/**
 * POLL (ours): what Zapier's deduplication needs from a polling trigger, as far as the definition
 * shows it. Zapier fires for each item whose primary key (`id`, or the output fields marked
 * `primary`) it has not seen; its own runtime check fails a poll whose items lack `id`
 * (zapier-platform-core's triggerHasId). So the primary key is declared as an output field, and
 * the sample gives it a non-empty string or a number, never an object or null. D010 and D012 ask
 * for the sample itself.
 */
const poll: Check = (app) =>
  actionsOf(app)
    .filter(({ group, operation }) => group === 'triggers' && operation.type !== 'hook')
    .flatMap(({ path, operation }) => {
      const fields = fieldsIn(operation.outputFields);
      const primary = primaryOf(operation);
      const keys = primary.length > 0 ? primary : ['id'];
      const sample = isRecord(operation.sample) ? operation.sample : undefined;
      return keys.flatMap((key): Finding[] => {
        const findings: Finding[] = [];
        if (!fields.some(([segment]) => segment === key)) {
          findings.push({
            code: 'POLL',
            key: `${path}.operation.outputFields`,
            message: `Declare the primary key "${key}" as an output field, with a label, so users see what identifies an item.`,
          });
        }
        const value = sample === undefined ? undefined : sampleValue(sample, key);
        const usable =
          (typeof value === 'string' && value.trim() !== '') ||
          (typeof value === 'number' && Number.isFinite(value));
        if (sample !== undefined && value !== undefined && !usable) {
          findings.push({
            code: 'POLL',
            key: `${path}.operation.sample.${key}`,
            message: `The primary key "${key}" is ${valueText(value)}; Zapier deduplicates by it, so give it a non-empty string or a number.`,
          });
        }
        return findings;
      });
    });

const CHECKS: Readonly<Record<string, Check>> = {
  D002: d002,
  D003: d003,
  D007: d007,
  D008: d008,
  D009: d009,
  D010: d010,
  D011: d011,
  D012: d012,
  D015: d015,
  D018: d018,
  D022: d022,
  D023: d023,
  D024: d024,
  DESC: desc,
  POLL: poll,
};

/** Every finding for `app`, in the order of CHECKS; `[]` when it passes. */
export const checkApp = (app: object, options: CheckOptions = {}): Finding[] => {
  const definition = definitionOf(app);
  const settings: Required<CheckOptions> = {
    appNames: options.appNames ?? APP_NAMES,
    dynamicInputReasons: options.dynamicInputReasons ?? DYNAMIC_INPUT_REASONS,
  };
  return Object.values(CHECKS).flatMap((check) => check(definition, settings));
};
