/**
 * An edition: the integration for one provider, as a filter over the one definition (index.ts),
 * never a copy of it. `npm run build:zip -- --provider dealai|admin` builds one
 * (tools/zip/build.ts writes an entry that calls {@link editionOf}).
 *
 * An edition
 * - has a connection without the API Provider field: the provider is implied, so every function
 *   of the definition (perform, input and output fields, the connection test) runs with
 *   `bundle.authData.provider` set to it;
 * - offers only the steps that work there (STEPS in providers.ts), and the search-or-creates whose search and
 *   create both remain;
 * - shows that provider's samples, and descriptions without "... only." (everything is).
 */
import { connectionFields } from './authentication';
import type { AddedOnAdmin, AddedOnDealai } from './creates/add-user';
import type { RemovedUser } from './creates/remove-user';
import type { Output } from './idempotency';
import type { Staleness } from './ordering';
import { PROVIDERS, runsOn } from './providers';
import type { ProviderId } from './providers';
import type { StepKind } from './providers';
import { isRecord } from './records';

/** An object read from the definition (cache.ts's Json is any JSON value). */
type JsonObject = Record<string, unknown>;

/** The value when it is a record, else an empty one: definitions are read defensively. */
const recordOf = (value: unknown): JsonObject => (isRecord(value) ? value : {});

const KINDS: readonly StepKind[] = ['triggers', 'creates', 'searches'];

// What each edition shows instead of the integration's description and sample (whose sample
// holds only the keys both providers return). Only an edition loads this module.
const addUserDescriptions: Record<ProviderId, string> = {
  dealai: 'Creates a user on your white-label site, with a role and an optional invitation email.',
  admin:
    "Creates a user's account on your white-label site, with optional starting credits, and returns the account's API token.",
};

const addUserSamples = {
  dealai: {
    provider: 'dealai',
    email: 'jane.doe@example.com',
    firstName: 'Jane',
    lastName: 'Doe',
    role: 'Premium Plan',
    inviteSent: true,
    replayed: false,
    replayNote: null,
    stale: false,
    staleNote: null,
  },
  admin: {
    provider: 'admin',
    email: 'jane.doe@example.com',
    credits: 1000,
    token: 'a1-0dF6qKHYD7SNU5kAtjOmwHpH3iFgpylA',
    replayed: false,
    replayNote: null,
    stale: false,
    staleNote: null,
  },
} as const satisfies Record<ProviderId, (AddedOnDealai | AddedOnAdmin) & Output>;

const removeUserDescriptions: Record<ProviderId, string> = {
  dealai: 'Deletes a user from your white-label site, for good: Deal.ai does not deactivate.',
  admin: "Deactivates a user's account on your white-label site and sets its credits to zero.",
};

const removeUserSamples = {
  dealai: {
    provider: 'dealai',
    email: 'jane.doe@example.com',
    removed: true,
    stale: false,
    staleNote: null,
  },
  admin: {
    provider: 'admin',
    email: 'jane.doe@example.com',
    removed: true,
    credits: 0,
    stale: false,
    staleNote: null,
  },
} as const satisfies Record<ProviderId, RemovedUser & Staleness>;

interface ByProvider {
  descriptions: Record<ProviderId, string>;
  samples: Record<ProviderId, object>;
}

/** The steps whose description and sample differ by provider. */
const BY_PROVIDER: Partial<Record<StepKind, Record<string, ByProvider>>> = {
  creates: {
    add_user: { descriptions: addUserDescriptions, samples: addUserSamples },
    remove_user: { descriptions: removeUserDescriptions, samples: removeUserSamples },
  },
};

/** Every function in `value` (a definition or part of one), called with the edition's provider. */
const withProvider = (value: unknown, provider: ProviderId): unknown => {
  if (typeof value === 'function') {
    const inject = (bundle: unknown): JsonObject => {
      const given = recordOf(bundle);
      return { ...given, authData: { ...recordOf(given.authData), provider } };
    };
    // Two parameters, like every function of the definition: definition.json shows the arity.
    return (z: unknown, bundle: unknown): unknown =>
      Reflect.apply(value, undefined, [z, inject(bundle)]);
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown) => withProvider(item, provider));
  }
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, withProvider(item, provider)]),
    );
  }
  return value;
};

/** The description without the sentence that says which provider it needs. */
const withoutOnly = (description: unknown): unknown =>
  typeof description === 'string'
    ? Object.values(PROVIDERS).reduce(
        (text, { label }) => text.replace(` ${label} only.`, ''),
        description,
      )
    : description;

const editStep = (
  kind: StepKind,
  key: string,
  step: JsonObject,
  provider: ProviderId,
): JsonObject => {
  const display = recordOf(step.display);
  const operation = recordOf(step.operation);
  const own = BY_PROVIDER[kind]?.[key];
  return {
    ...step,
    display: {
      ...display,
      description: own?.descriptions[provider] ?? withoutOnly(display.description),
    },
    operation: own === undefined ? operation : { ...operation, sample: own.samples[provider] },
  };
};

/** The steps of `group` that run on `provider`, edited for the edition. */
const filterGroup = (group: unknown, kind: StepKind, provider: ProviderId): JsonObject =>
  Object.fromEntries(
    Object.entries(recordOf(group)).flatMap(([key, step]) =>
      isRecord(step) && runsOn(provider, kind, key)
        ? [[key, editStep(kind, key, step, provider)]]
        : [],
    ),
  );

/** The definition of `provider`'s edition of `app`. */
export const editionOf = (app: object, provider: ProviderId): JsonObject => {
  const source = recordOf(app);
  const [triggers = {}, creates = {}, searches = {}] = KINDS.map((kind) =>
    filterGroup(source[kind], kind, provider),
  );
  // A search-or-create stays when both its halves do.
  const searchOrCreates = Object.fromEntries(
    Object.entries(recordOf(source.searchOrCreates)).flatMap(([key, value]) => {
      const item = recordOf(value);
      const display = recordOf(item.display);
      const kept =
        Object.hasOwn(searches, String(item.search)) && Object.hasOwn(creates, String(item.create));
      return kept
        ? [
            [
              key,
              { ...item, display: { ...display, description: withoutOnly(display.description) } },
            ],
          ]
        : [];
    }),
  );
  const edition: JsonObject = {
    ...source,
    authentication: { ...recordOf(source.authentication), fields: connectionFields(provider) },
    triggers,
    creates,
    searches,
    searchOrCreates,
  };
  return recordOf(withProvider(edition, provider));
};
