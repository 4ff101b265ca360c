/**
 * The two admin APIs this integration drives, as data: where each lives, how it wants the key,
 * and which routes it has. The request helper (client.ts) is the only reader of this table.
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

export interface Route {
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
  Object.values(PROVIDERS).filter((provider) =>
    routes.every((route) => provider.routes[route] !== undefined),
  );
