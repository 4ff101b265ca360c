import type { Authentication, Bundle, ZObject } from 'zapier-platform-core';

import { openApi } from './client';
import { PROVIDERS } from './providers';

export interface ConnectionCheck {
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
  const api = openApi(z, bundle, 'The connection test', ['keyCheck']);
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

const where = [
  `**${PROVIDERS.dealai.label}**: in [Deal.ai](https://marketing.deal.ai), open Account Settings: the API key is at the bottom of the page (turn the API on first under White Label Settings).`,
  `**${PROVIDERS.admin.label}**: the API token of your administration account, from your [Agent First account](https://agentfirst.dev).`,
].join(' ');

export const authentication = {
  type: 'custom',
  fields: [
    {
      key: 'provider',
      label: 'API Provider',
      type: 'string',
      required: true,
      choices: [
        { value: 'dealai', label: PROVIDERS.dealai.label, sample: 'dealai' },
        { value: 'admin', label: PROVIDERS.admin.label, sample: 'admin' },
      ],
      helpText:
        'Which admin API runs your white-label site: Deal.ai White Label, or an administration API like Agent First. It decides which actions are available.',
    },
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
      helpText: `Leave empty to use the provider's API (\`${PROVIDERS.dealai.defaultBaseUrl}\` or \`${PROVIDERS.admin.defaultBaseUrl}\`). Set it for a white-label endpoint or a staging host; it must use \`https://\`, except for a local test server on \`localhost\`.`,
    },
  ],
  test,
  connectionLabel: '{{label}}',
} satisfies Authentication;
