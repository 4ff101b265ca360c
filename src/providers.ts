/**
 * The two admin APIs this integration drives, as data: where each lives, how it wants the key,
 * and which routes it has; and below, the steps and the routes each needs. The request helper
 * (client.ts) is the only reader of the routes.
 * Source: docs/api.md (each provider's routes, fields and statuses, with the documents it cites).
 */

export type ProviderId = 'dealai' | 'admin';

export type RouteName =
  | 'addUser'
  | 'removeUser'
  | 'changeRole'
  | 'findUsers'
  | 'grantCredits'
  | 'ownAccount'
  | 'usageReport'
  | 'keyCheck';

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
}

export interface Provider {
  id: ProviderId;
  label: string;
  defaultBaseUrl: string;
  authHeader: (apiKey: string) => Record<string, string>;
  routes: Partial<Record<RouteName, Route>>;
}

export const PROVIDERS: Record<ProviderId, Provider> = {
  dealai: {
    id: 'dealai',
    label: 'Deal.ai White Label',
    defaultBaseUrl: 'https://api.marketing.deal.ai/api/2024-01/whitelabel',
    authHeader: (apiKey) => ({ 'Deal-AI-API-Key': apiKey }),
    routes: {
      addUser: { method: 'POST', path: '/users' },
      removeUser: { method: 'DELETE', path: '/users' },
      changeRole: { method: 'PATCH', path: '/users/role' },
      // Deal.ai has no read route. A role change with an empty body names no user, so it cannot
      // change anything, yet the API must check the key before it can reject the body.
      keyCheck: { method: 'PATCH', path: '/users/role' },
    },
  },
  admin: {
    id: 'admin',
    label: 'Administration API',
    defaultBaseUrl: 'https://api.agentfirst.dev',
    authHeader: (apiKey) => ({ Authorization: `Bearer ${apiKey}` }),
    routes: {
      addUser: { method: 'POST', path: '/users' },
      removeUser: { method: 'DELETE', path: '/users' },
      findUsers: { method: 'GET', path: '/users' },
      grantCredits: { method: 'PATCH', path: '/users' },
      ownAccount: { method: 'GET', path: '/user' },
      usageReport: { method: 'GET', path: '/usage' },
      keyCheck: { method: 'GET', path: '/user' },
    },
  },
};

export const isProviderId = (value: unknown): value is ProviderId =>
  typeof value === 'string' && Object.hasOwn(PROVIDERS, value);

/** The provider a connection names, by its value or its label in any case; else `undefined`. */
export const readProviderId = (value: unknown): ProviderId | undefined => {
  if (typeof value !== 'string') {
    return undefined;
  }
  const text = value.trim().toLowerCase();
  return Object.values(PROVIDERS).find(
    (provider) => provider.id === text || provider.label.toLowerCase() === text,
  )?.id;
};

/** The providers that have every one of `routes`, for "works only with ..." messages. */
export const providersWith = (routes: readonly RouteName[]): Provider[] =>
  Object.values(PROVIDERS).filter((provider) => supports(provider, routes));

const supports = (provider: Provider, routes: readonly RouteName[]): boolean =>
  routes.every((route) => provider.routes[route] !== undefined);

// ---------------------------------------------------------------------------------------------
/*
 * Every step of the integration as data: its kind, key, label and the routes it needs. A step
 * works on a provider exactly when that provider has all of its routes (above), so this
 * table decides, in one place, which steps a connection can run (the request helper's message),
 * which steps an edition offers (editions.ts) and what each description says.
 */

export type StepKind = 'triggers' | 'creates' | 'searches';

export interface Step {
  kind: StepKind;
  key: string;
  label: string;
  routes: readonly RouteName[];
}

const step = <const R extends readonly RouteName[]>(
  kind: StepKind,
  key: string,
  label: string,
  routes: R,
) => ({ kind, key, label, routes });

/** The steps, in the order the README and the editor list them. */
export const STEPS = {
  newUser: step('triggers', 'new_user', 'New User', ['findUsers']),
  creditsLow: step('triggers', 'credits_low', 'Credits Running Low', ['findUsers', 'ownAccount']),
  addUser: step('creates', 'add_user', 'Add User', ['addUser']),
  provisionCredits: step('creates', 'provision_credits', 'Provision Credits', [
    'findUsers',
    'addUser',
    'grantCredits',
  ]),
  changeRole: step('creates', 'change_role', 'Change Role', ['changeRole']),
  removeUser: step('creates', 'remove_user', 'Remove User', ['removeUser']),
  findUser: step('searches', 'find_user', 'Find User', ['findUsers']),
  findUsage: step('searches', 'find_usage', 'Find Usage', ['usageReport']),
} as const satisfies Record<string, Step>;

const ALL: readonly Step[] = Object.values(STEPS);

/** The steps a provider can run, in table order. */
export const stepsOf = (provider: ProviderId): Step[] =>
  ALL.filter((item) => supports(PROVIDERS[provider], item.routes));

/** Whether the step `kind.key` runs on `provider` (a step not in the table runs nowhere). */
export const runsOn = (provider: ProviderId, kind: StepKind, key: string): boolean =>
  ALL.some(
    (item) => item.kind === kind && item.key === key && supports(PROVIDERS[provider], item.routes),
  );

/**
 * The sentence that ends the description of a step that works on one provider only, "Deal.ai
 * White Label only." or "Administration API only."; empty when it works on every provider.
 */
export const onlyOn = (routes: readonly RouteName[]): string => {
  const providers = providersWith(routes);
  return providers.length === Object.keys(PROVIDERS).length
    ? ''
    : ` ${providers.map((provider) => provider.label).join(' and ')} only.`;
};

const AND = new Intl.ListFormat('en-GB', { type: 'conjunction' });

/** "Add User, Change Role and Remove User": the labels of the steps a provider can run. */
export const stepLabelsOf = (provider: ProviderId): string =>
  AND.format(stepsOf(provider).map((item) => item.label));
