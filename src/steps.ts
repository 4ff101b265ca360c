/**
 * Every step of the integration as data: its kind, key, label and the routes it needs. A step
 * works on a provider exactly when that provider has all of its routes (providers.ts), so this
 * table decides, in one place, which steps a connection can run (the request helper's message),
 * which steps an edition offers (editions.ts) and what each description says.
 */
import { PROVIDERS } from './providers';
import type { Provider, ProviderId, RouteName } from './providers';

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

export const supports = (provider: Provider, routes: readonly RouteName[]): boolean =>
  routes.every((route) => provider.routes[route] !== undefined);

/** The providers that can run `routes`. */
export const providersFor = (routes: readonly RouteName[]): Provider[] =>
  Object.values(PROVIDERS).filter((provider) => supports(provider, routes));

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
  const providers = providersFor(routes);
  return providers.length === Object.keys(PROVIDERS).length
    ? ''
    : ` ${providers.map((provider) => provider.label).join(' and ')} only.`;
};

const AND = new Intl.ListFormat('en-GB', { type: 'conjunction' });

/** "Add User, Change Role and Remove User": the labels of the steps a provider can run. */
export const stepLabelsOf = (provider: ProviderId): string =>
  AND.format(stepsOf(provider).map((item) => item.label));
