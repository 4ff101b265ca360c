import { defineCreate, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { openApi } from '../client';
import type { Api } from '../client';
import {
  creditsField,
  emailField,
  invalid,
  readCredits,
  readEmail,
  readText,
  show,
} from '../fields';
import { findAccount, readAccount, readAccounts, readNewAccount } from '../records';
import type { Account } from '../records';

export const PROVISION_CREDITS = 'provision_credits';
const LABEL = 'Provision Credits';

export const MODES = { add: 'add', atLeast: 'atLeast' } as const;

const inputFields = defineInputFields([
  emailField,
  creditsField({
    key: 'credits',
    label: 'Credits',
    required: true,
    helpText:
      'A whole number of 1 or more: the credits to add, or the balance to top up to, depending on Mode. A user without an account gets an account with this many credits.',
  }),
  {
    key: 'mode',
    label: 'Mode',
    type: 'string',
    required: true,
    choices: [
      { value: MODES.add, label: 'Add: grant this many more credits', sample: MODES.add },
      {
        value: MODES.atLeast,
        label: 'Top Up: raise the balance to at least this many',
        sample: MODES.atLeast,
      },
    ],
    helpText:
      'Add grants Credits on top of the balance every time it runs. Top Up raises the balance to Credits only when it is lower, so running it twice changes nothing the second time.',
  },
]);

type Input = InferInputData<typeof inputFields>;

export interface ProvisionedCredits {
  email: string;
  credits: number;
  granted: number;
  created: boolean;
  mode: string;
}

// `replayUnsafe` below: whether a lost answer must stop the run. In Add mode a replay would grant
// again; in Top Up mode a replay reads the balance first, so Zapier may retry it like any error.

/** Creates the account with `credits`; `undefined` when it turns out to exist already. */
const create = async (
  z: ZObject,
  api: Api,
  email: string,
  credits: number,
  replayUnsafe: boolean,
) => {
  const result = await api.attempt('addUser', {
    body: { email, credits },
    tolerate: ['exists'],
    replayUnsafe,
  });
  return result.ok ? readNewAccount(z, result.data, credits) : undefined;
};

const grant = async (z: ZObject, api: Api, email: string, amount: number, replayUnsafe: boolean) =>
  readAccount(z, await api.call('grantCredits', { body: { email, amount }, replayUnsafe }));

/** Grants to an existing account; `undefined` when there is none. */
const grantIfPresent = async (z: ZObject, api: Api, email: string, amount: number) => {
  const result = await api.attempt('grantCredits', {
    body: { email, amount },
    tolerate: ['missing'],
    replayUnsafe: true,
  });
  return result.ok ? readAccount(z, result.data) : undefined;
};

/**
 * Add: one grant; only a missing account costs a second request (create). The grant cannot be
 * made idempotent through this API, so a grant whose answer is lost stops the run (see client).
 */
const addCredits = async (z: ZObject, api: Api, email: string, credits: number) => {
  const granted = await grantIfPresent(z, api, email, credits);
  if (granted !== undefined) {
    return { account: granted, granted: credits, created: false };
  }
  const created = await create(z, api, email, credits, true);
  if (created !== undefined) {
    return { account: created, granted: credits, created: true };
  }
  // Created by someone else between our two requests: grant to it after all.
  return { account: await grant(z, api, email, credits, true), granted: credits, created: false };
};

/**
 * Top up: read the balance, then grant only the difference. Replaying it reads the new balance and
 * grants nothing, which is what makes this mode safe to run twice.
 */
const topUp = async (z: ZObject, api: Api, email: string, target: number) => {
  const lookup = async (): Promise<Account | undefined> => {
    const answer = await api.call('findUsers', { params: { email } });
    return findAccount(readAccounts(z, answer), email);
  };
  let current = await lookup();
  if (current === undefined) {
    const created = await create(z, api, email, target, false);
    if (created !== undefined) {
      return { account: created, granted: target, created: true };
    }
    current = await lookup();
    if (current === undefined) {
      throw new z.errors.Error(
        `The ${api.connection.provider.label} says ${email} already has an account, yet does not list it. Try again later.`,
        'InconsistentAnswer',
      );
    }
  }
  if (current.credits >= target) {
    return { account: current, granted: 0, created: false };
  }
  const amount = target - current.credits;
  return { account: await grant(z, api, email, amount, false), granted: amount, created: false };
};

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<ProvisionedCredits> => {
  const api = openApi(z, bundle, LABEL, ['findUsers', 'addUser', 'grantCredits']);
  const email = readEmail(z, bundle.inputData.email);
  const credits = readCredits(z, bundle.inputData.credits, 'Credits', 1);
  if (credits === undefined) {
    throw invalid(z, 'Credits', 'is empty. Map a whole number of 1 or more.');
  }
  const mode = readText(bundle.inputData.mode);
  if (mode !== MODES.add && mode !== MODES.atLeast) {
    throw invalid(
      z,
      'Mode',
      `must be "${MODES.add}" or "${MODES.atLeast}"${mode === undefined ? '' : `, not ${show(mode)}`}.`,
    );
  }
  const outcome =
    mode === MODES.add
      ? await addCredits(z, api, email, credits)
      : await topUp(z, api, email, credits);
  return {
    email: outcome.account.email,
    credits: outcome.account.credits,
    granted: outcome.granted,
    created: outcome.created,
    mode,
  };
};

export const provisionCredits = defineCreate({
  key: PROVISION_CREDITS,
  noun: 'Credits',
  display: {
    label: LABEL,
    description:
      "Adds API credits to a user's account, or tops the balance up to a minimum, and creates the account when the user has none.",
  },
  operation: {
    inputFields,
    perform,
    sample: {
      email: 'jane.doe@example.com',
      credits: 1500,
      granted: 500,
      created: false,
      mode: 'add',
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'credits', label: 'Balance', type: 'integer' },
      { key: 'granted', label: 'Credits Granted', type: 'integer' },
      { key: 'created', label: 'Account Created', type: 'boolean' },
      { key: 'mode', label: 'Mode', type: 'string' },
    ],
  },
});
