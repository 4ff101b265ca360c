import { defineCreate, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import type { Api, CallOptions } from '../client';
import { creditsField, emailField, invalid, readChoice, readCredits, readEmail } from '../fields';
import { idempotencyKeyField, once, replayOutputFields } from '../idempotency';
import type { Output } from '../idempotency';
import { findAccount, readAccount, readAccounts, readNewAccount } from '../records';
import type { Account } from '../records';
import { STEPS, onlyOn } from '../providers';

const PROVISION_CREDITS = 'provision_credits';
const LABEL = 'Provision Credits';

const MODES = { add: 'add', atLeast: 'atLeast' } as const;
type Mode = (typeof MODES)[keyof typeof MODES];

const MODE_CHOICES = [
  { value: MODES.add, label: 'Add: grant this many more credits', sample: MODES.add },
  {
    value: MODES.atLeast,
    label: 'Top Up: raise the balance to at least this many',
    sample: MODES.atLeast,
  },
] as const satisfies readonly { value: Mode; label: string; sample: string }[];

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
    choices: [...MODE_CHOICES],
    helpText:
      'Add grants Credits on top of the balance every time it runs. Top Up raises the balance to Credits only when it is lower, so running it twice changes nothing the second time.',
  },
  idempotencyKeyField,
]);

type Input = InferInputData<typeof inputFields>;

// A type, not an interface: it must fit the Idempotency Key's flat output records.
type ProvisionedCredits = {
  email: string;
  credits: number;
  granted: number;
  created: boolean;
  mode: string;
};

/**
 * What a lost answer to a write means in each mode (see client). Add: a replay would grant again,
 * so the error says the change may have been applied, and the guard (idempotency.ts) refuses the
 * replay. Top Up: a replay reads the balance first, so Zapier may retry it like any error, and an
 * Idempotency Key may let it run again.
 */
const SAFETY = {
  add: { replayUnsafe: true },
  atLeast: { repeatable: true },
} as const satisfies Record<Mode, CallOptions>;

type Safety = (typeof SAFETY)[Mode];

/** Creates the account with `credits`; `undefined` when it turns out to exist already. */
const create = async (z: ZObject, api: Api, email: string, credits: number, safety: Safety) => {
  const result = await api.attempt('addUser', {
    body: { email, credits },
    tolerate: ['exists'],
    ...safety,
  });
  return result.ok ? readNewAccount(z, result.data, credits) : undefined;
};

const grant = async (z: ZObject, api: Api, email: string, amount: number, safety: Safety) =>
  readAccount(z, await api.call('grantCredits', { body: { email, amount }, ...safety }));

/** Grants to an existing account; `undefined` when there is none. */
const grantIfPresent = async (z: ZObject, api: Api, email: string, amount: number) => {
  const result = await api.attempt('grantCredits', {
    body: { email, amount },
    tolerate: ['missing'],
    ...SAFETY.add,
  });
  return result.ok ? readAccount(z, result.data) : undefined;
};

/**
 * Add: one grant; only a missing account costs a second request (create). The grant cannot be
 * made idempotent through this API, so a grant whose answer is lost is remembered (see once()).
 */
const addCredits = async (z: ZObject, api: Api, email: string, credits: number) => {
  const granted = await grantIfPresent(z, api, email, credits);
  if (granted !== undefined) {
    return { account: granted, granted: credits, created: false };
  }
  const created = await create(z, api, email, credits, SAFETY.add);
  if (created !== undefined) {
    return { account: created, granted: credits, created: true };
  }
  // Created by someone else between our two requests: grant to it after all.
  return {
    account: await grant(z, api, email, credits, SAFETY.add),
    granted: credits,
    created: false,
  };
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
    const created = await create(z, api, email, target, SAFETY.atLeast);
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
  return {
    account: await grant(z, api, email, amount, SAFETY.atLeast),
    granted: amount,
    created: false,
  };
};

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<ProvisionedCredits | Output> => {
  const api = apiFor(z, bundle, LABEL, STEPS.provisionCredits.routes);
  const email = readEmail(z, bundle.inputData.email);
  const credits = readCredits(z, bundle.inputData.credits, 'Credits', 1);
  if (credits === undefined) {
    throw invalid(z, 'Credits', 'is empty. Map a whole number of 1 or more.');
  }
  const mode = readChoice(z, bundle.inputData.mode, 'Mode', MODE_CHOICES);
  if (mode === undefined) {
    throw invalid(z, 'Mode', 'is empty. Choose Add or Top Up.');
  }
  const delivery = {
    action: PROVISION_CREDITS,
    key: bundle.inputData.idempotencyKey,
    request: { email: email.toLowerCase(), credits, mode },
    // Add grants again when replayed after a lost answer; Top Up reads the balance first.
    guard: mode === MODES.add,
  };
  return once(z, api, delivery, async (): Promise<ProvisionedCredits> => {
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
  });
};

export const provisionCredits = defineCreate({
  key: PROVISION_CREDITS,
  noun: 'Credit',
  display: {
    label: LABEL,
    description: `Adds API credits to a user's account, or tops the balance up to a minimum, and creates the account when the user has none.${onlyOn(STEPS.provisionCredits.routes)}`,
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
      replayed: false,
      replayNote: null,
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'credits', label: 'Balance', type: 'integer' },
      { key: 'granted', label: 'Credits Granted', type: 'integer' },
      { key: 'created', label: 'Account Created', type: 'boolean' },
      { key: 'mode', label: 'Mode', type: 'string' },
      ...replayOutputFields,
    ],
  },
});
