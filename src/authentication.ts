import type { AuthField, Authentication, Bundle, ZObject } from 'zapier-platform-core';

import { apiFor } from './client';
import { PROVIDERS } from './providers';
import type { ProviderId } from './providers';
import { rolesConnectionField } from './roles';

interface ConnectionCheck {
  provider: string;
  host: string;
  email: string | null;
  label: string;
}

/** The token's own account as GET /user documents it: a list of one `{email, credits}`. */
const readOwnEmail = (data: unknown): string | undefined => {
  const first: unknown = Array.isArray(data) ? data[0] : data;
  if (
    typeof first === 'object' &&
    first !== null &&
    'email' in first &&
    typeof first.email === 'string' &&
    first.email !== '' &&
    'credits' in first &&
    typeof first.credits === 'number'
  ) {
    return first.email;
  }
  return undefined;
};

/** An answer as a message quotes it: JSON, cut at 120 characters. */
const quote = (data: unknown): string => {
  const text = data === undefined ? 'nothing' : JSON.stringify(data);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

/**
 * Proves the key and the Base URL without changing anything (docs/api.md, "Connection test").
 * The Administration API has a route for the token's own account, and its answer must be that
 * account. Deal.ai has no read route, so the request helper probes it (Api.probe): a role change
 * for nobody (an empty body) must be refused for its body with this key, and refused for the key
 * with a key that cannot be valid. A router or a catch-all answers both alike.
 */
const test = async (z: ZObject, bundle: Bundle): Promise<ConnectionCheck> => {
  const api = apiFor(z, bundle, 'The connection test', ['keyCheck']);
  const { provider, baseUrl } = api.connection;
  const host = new URL(baseUrl).host;
  if (provider.id === 'admin') {
    const data = await api.call('keyCheck');
    const email = readOwnEmail(data);
    if (email === undefined) {
      throw new z.errors.Error(
        `The Base URL ${baseUrl} does not reach the ${provider.label}: GET /user answered ${quote(data)}, not the token's own account (its email and credits). Check the connection's Base URL.`,
        'WrongBaseUrl',
      );
    }
    return { provider: provider.id, host, email, label: email };
  }
  await api.probe('keyCheck', { body: {} });
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
