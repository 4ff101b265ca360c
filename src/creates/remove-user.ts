import { defineCreate, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import { emailField, readEmail, readFlag, yesNoField } from '../fields';
import { eventTimeField, inEventOrder, staleOutputFields } from '../ordering';
import { STEPS, readProviderId } from '../providers';
import type { ProviderId } from '../providers';
import { readAccount, textAt } from '../records';

const REMOVE_USER = 'remove_user';
const LABEL = 'Remove User';

const ignoreMissingField = yesNoField({
  key: 'ignoreMissing',
  label: 'Succeed If Already Gone',
  helpText:
    'Yes: when no user has this email, finish with Removed set to false instead of stopping. Useful when the same cancellation can arrive twice.',
});

const WARNINGS: Record<ProviderId, string> = {
  dealai:
    '**Deal.ai White Label deletes the user**: the account is gone for good, not deactivated, and this cannot be undone from Zapier. Make sure the Zap only reaches this step for users who should lose their account.',
  admin:
    'The Administration API **deactivates** the account and sets its credits to zero: the user can no longer sign in or spend credits.',
};

/** A warning above the fields: what removing means on the connection's provider. */
const warningFields = (z: ZObject, bundle: Bundle) => {
  const provider = readProviderId(bundle.authData.provider);
  return [
    {
      key: 'removalWarning',
      type: 'copy' as const,
      helpText:
        provider === undefined
          ? `${WARNINGS.dealai} On the Administration API: ${WARNINGS.admin}`
          : WARNINGS[provider],
    },
  ];
};

/**
 * Every field, as perform receives them.
 * @public Only its type is used (perform's input); exported so that no-unused-vars accepts it.
 */
export const everyField = defineInputFields([emailField, ignoreMissingField, eventTimeField]);

type Input = InferInputData<typeof everyField>;

// Types, not interfaces: outputs are flat records.
type RemovedOnDealai = { provider: string; email: string; removed: boolean };
type RemovedOnAdmin = RemovedOnDealai & { credits: number | null };
export type RemovedUser = RemovedOnDealai | RemovedOnAdmin;

/** The output fields that depend on the provider: the admin API reports the zeroed credits. */
const providerOutputs = (z: ZObject, bundle: Bundle) =>
  Promise.resolve(
    readProviderId(bundle.authData.provider) === 'dealai'
      ? []
      : [{ key: 'credits', label: 'Credits', type: 'integer' as const }],
  );

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<RemovedUser> => {
  const api = apiFor(z, bundle, LABEL, STEPS.removeUser.routes);
  const email = readEmail(z, bundle.inputData.email);
  const ignoreMissing = readFlag(z, bundle.inputData.ignoreMissing, 'Succeed If Already Gone');
  const provider = api.connection.provider.id;

  const result = await api.attempt('removeUser', {
    body: { email },
    tolerate: ignoreMissing ? ['missing'] : [],
  });
  if (!result.ok) {
    return provider === 'admin'
      ? { provider, email, removed: false, credits: null }
      : { provider, email, removed: false };
  }
  if (provider === 'admin') {
    // The admin API deactivates the account and confirms its zeroed credits.
    const account = readAccount(z, result.data);
    return { provider, email: account.email, removed: true, credits: account.credits };
  }
  return { provider, email: textAt(result.data, 'email') ?? email, removed: true };
};

export const removeUser = defineCreate({
  key: REMOVE_USER,
  noun: 'User',
  display: {
    label: LABEL,
    description:
      'Removes a user from your white-label site. Deal.ai White Label deletes the user; the Administration API deactivates the account and sets its credits to zero.',
  },
  operation: {
    inputFields: [warningFields, emailField, ignoreMissingField, eventTimeField],
    perform: inEventOrder(
      {
        label: LABEL,
        routes: STEPS.removeUser.routes,
        // Nothing was sent: the provider's output fields, so that samples still match.
        skipped: ({ provider, email }): RemovedUser =>
          provider === 'admin'
            ? { provider, email, removed: false, credits: null }
            : { provider, email, removed: false },
      },
      perform,
    ),
    sample: {
      provider: 'admin',
      email: 'jane.doe@example.com',
      removed: true,
      stale: false,
      staleNote: null,
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'provider', label: 'Provider', type: 'string' },
      { key: 'removed', label: 'Removed', type: 'boolean' },
      providerOutputs,
      ...staleOutputFields,
    ],
  },
});
