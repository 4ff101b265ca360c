import { defineCreate, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { openApi } from '../client';
import { emailField, readEmail, readFlag, yesNoField } from '../fields';
import { eventTimeField, inEventOrder, staleOutputFields } from '../ordering';
import { readAccount, textAt } from '../records';

export const REMOVE_USER = 'remove_user';
const LABEL = 'Remove User';

const inputFields = defineInputFields([
  emailField,
  yesNoField({
    key: 'ignoreMissing',
    label: 'Succeed If Already Gone',
    helpText:
      'Yes: when no user has this email, finish with Removed set to false instead of stopping. Useful when the same cancellation can arrive twice.',
  }),
  eventTimeField,
]);

type Input = InferInputData<typeof inputFields>;

export interface RemovedUser {
  provider: string;
  email: string;
  removed: boolean;
  credits: number | null;
}

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<RemovedUser> => {
  const api = openApi(z, bundle, LABEL, ['removeUser']);
  const email = readEmail(z, bundle.inputData.email);
  const ignoreMissing = readFlag(z, bundle.inputData.ignoreMissing, 'Succeed If Already Gone');
  const provider = api.connection.provider.id;

  const result = await api.attempt('removeUser', {
    body: { email },
    tolerate: ignoreMissing ? ['missing'] : [],
  });
  if (!result.ok) {
    return { provider, email, removed: false, credits: null };
  }
  if (provider === 'admin') {
    // The admin API deactivates the account and confirms its zeroed credits.
    const account = readAccount(z, result.data);
    return { provider, email: account.email, removed: true, credits: account.credits };
  }
  return { provider, email: textAt(result.data, 'email') ?? email, removed: true, credits: null };
};

export const removeUser = defineCreate({
  key: REMOVE_USER,
  noun: 'User',
  display: {
    label: LABEL,
    description:
      'Removes a user from your white-label site. On an administration API the account is deactivated and its credits set to zero.',
  },
  operation: {
    inputFields,
    perform: inEventOrder(
      {
        label: LABEL,
        skipped: ({ provider, email }): RemovedUser => ({
          provider,
          email,
          removed: false,
          credits: null,
        }),
      },
      perform,
    ),
    sample: {
      provider: 'admin',
      email: 'jane.doe@example.com',
      removed: true,
      credits: 0,
      stale: false,
      staleNote: null,
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'provider', label: 'Provider', type: 'string' },
      { key: 'removed', label: 'Removed', type: 'boolean' },
      { key: 'credits', label: 'Credits', type: 'integer' },
      ...staleOutputFields,
    ],
  },
});
