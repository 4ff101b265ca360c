import type { AuthField, Authentication, Bundle, ZObject } from 'zapier-platform-core';

import { openApi } from './client';
import { PROVIDERS } from './providers';
import type { ProviderId } from './providers';
import { rolesConnectionField } from './roles';

export interface ConnectionCheck {
  provider: string;
  host: string;
  email: string | null;
  label: string;
}

const readOwnEmail = (data: unknown): string | null => {
  const first: unknown = Array.isArray(data) ? data[0] : data;
  if (typeof first === 'object' && first !== null && 'email' in first) {
    return typeof first.email === 'string' ? first.email : null;
  }
  return null;
};

/**
 * Proves the key without changing anything. The admin API has a route for its own account. Deal.ai
 * has no read route at all, so we ask it to change the role of nobody (an empty body): the API has
 * to check the key before it can reject the body, so 401/403 mean a bad key and any other 4xx means
 * the key was accepted and only the (deliberately empty) request was refused.
 */
const test = async (z: ZObject, bundle: Bundle): Promise<ConnectionCheck> => {
  const api = openApi(z, bundle, 'The connection test', ['keyCheck']);
  const { provider, baseUrl } = api.connection;
  const host = new URL(baseUrl).host;
  if (provider.id === 'admin') {
    const email = readOwnEmail(await api.call('keyCheck'));
    return { provider: provider.id, host, email, label: email ?? `${provider.label} (${host})` };
  }
  await api.attempt('keyCheck', { body: {}, tolerate: ['missing', 'exists', 'refused'] });
  return { provider: provider.id, host, email: null, label: `${provider.label} (${host})` };
};

const WHERE: Record<ProviderId, string> = {
  dealai: `**${PROVIDERS.dealai.label}**: in [Deal.ai](https://marketing.deal.ai), open Account Settings: the API key is at the bottom of the page (turn the API on first under White Label Settings).`,
  admin: `**${PROVIDERS.admin.label}**: the API token of your administration account, from your [Agent First account](https://agentfirst.dev).`,
};

const providerField: AuthField = {
  key: 'provider',
  label: 'API Provider',
  type: 'string',
  required: true,
  choices: [
    { value: 'dealai', label: PROVIDERS.dealai.label, sample: 'dealai' },
    { value: 'admin', label: PROVIDERS.admin.label, sample: 'admin' },
  ],
  helpText:
    'Which admin API runs your white-label site: Deal.ai White Label, or an administration API like Agent First. Each step shows the fields of this API, and a step that needs the other one says so in its description.',
};

/**
 * The connection's fields: for the integration of both providers (`edition` undefined), or for
 * the edition of one provider, which has no API Provider field (its provider is implied) and only
 * that provider's words.
 */
export const connectionFields = (edition?: ProviderId): AuthField[] => {
  const providers = edition === undefined ? Object.values(PROVIDERS) : [PROVIDERS[edition]];
  const where = providers.map((provider) => WHERE[provider.id]).join(' ');
  const defaults = providers.map((provider) => `\`${provider.defaultBaseUrl}\``).join(' or ');
  return [
    ...(edition === undefined ? [providerField] : []),
    {
      key: 'apiKey',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText: `The key Zapier sends with every request. ${where}`,
    },
    {
      key: 'baseUrl',
      label: 'Base URL',
      type: 'string',
      required: false,
      helpText: `Leave empty to use the provider's API (${defaults}). Set it for a white-label endpoint or a staging host; it must use \`https://\`, except for a local test server on \`localhost\`.`,
    },
    ...(edition === 'admin' ? [] : [rolesConnectionField]),
  ];
};

export const authentication = {
  type: 'custom',
  fields: connectionFields(),
  test,
  connectionLabel: '{{label}}',
} satisfies Authentication;
