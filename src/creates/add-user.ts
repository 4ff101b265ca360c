import { defineCreate, defineInputField, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import type { Json } from '../cache';
import { apiFor } from '../client';
import type { Api } from '../client';
import {
  creditsField,
  emailField,
  invalid,
  readCredits,
  readEmail,
  readFlag,
  readText,
  yesNoField,
} from '../fields';
import { idempotencyKeyField, once, replayOutputFields } from '../idempotency';
import type { Output } from '../idempotency';
import { eventTimeField, inEventOrder, staleOutputFields } from '../ordering';
import { STEPS, onlyOn, readProviderId } from '../providers';
import { readNewAccount, textAt } from '../records';
import { ROLES_KEY, readRole, readRoles, roleField } from '../roles';

const ADD_USER = 'add_user';
const LABEL = 'Add User';

const firstNameField = (required: boolean) =>
  defineInputField({
    key: 'firstName',
    label: 'First Name',
    type: 'string',
    required,
    helpText: required
      ? "The user's first name, which Deal.ai White Label requires."
      : "The user's first name. Required by Deal.ai White Label; leave empty for the Administration API, which stores no names.",
  });

const lastNameField = defineInputField({
  key: 'lastName',
  label: 'Last Name',
  type: 'string',
  required: false,
  helpText: "The user's last name (Deal.ai White Label only).",
});

const passwordField = defineInputField({
  key: 'password',
  label: 'Password',
  type: 'password',
  required: false,
  helpText:
    'A password for the new user (Deal.ai White Label only). Leave empty and Deal.ai generates a random one; pair that with Send Invite Email.',
});

const sendInviteField = yesNoField({
  key: 'sendInviteEmail',
  label: 'Send Invite Email',
  helpText:
    'Whether Deal.ai emails the new user an invitation to your white-label site (Deal.ai White Label only).',
});

const ROLE_HELP =
  'The user\'s role, exactly as named in your White Label Settings, such as "Premium Plan" (Deal.ai White Label only). Leave empty for the Default Role.';

const startingCreditsField = creditsField({
  key: 'credits',
  label: 'Starting Credits',
  required: false,
  helpText:
    'API credits to preload the new account with, a whole number of 0 or more (Administration API only). Leave empty for none.',
});

/**
 * The fields that depend on the connection's provider: Deal.ai's profile, or the admin API's
 * starting credits. Without a known provider (no connection chosen yet) every field is shown,
 * each saying which provider uses it.
 */
const providerFields = (z: ZObject, bundle: Bundle) => {
  const provider = readProviderId(bundle.authData.provider);
  const roles = readRoles(bundle.authData[ROLES_KEY]);
  const dealai = [
    firstNameField(provider === 'dealai'),
    lastNameField,
    passwordField,
    sendInviteField,
    roleField(roles, ROLE_HELP),
  ];
  return provider === 'admin'
    ? [startingCreditsField]
    : provider === 'dealai'
      ? dealai
      : [...dealai, startingCreditsField];
};

/**
 * Every field any provider shows: what perform may receive.
 * @public Only its type is used (perform's input); exported so that no-unused-vars accepts it.
 */
export const everyField = defineInputFields([
  emailField,
  firstNameField(false),
  lastNameField,
  passwordField,
  sendInviteField,
  roleField([], ROLE_HELP),
  startingCreditsField,
  idempotencyKeyField,
  eventTimeField,
]);

type Input = InferInputData<typeof everyField>;

const DEALAI_OUTPUTS = [
  { key: 'firstName', label: 'First Name', type: 'string' },
  { key: 'lastName', label: 'Last Name', type: 'string' },
  { key: 'role', label: 'Role', type: 'string' },
  { key: 'inviteSent', label: 'Invite Sent', type: 'boolean' },
] as const;

const ADMIN_OUTPUTS = [
  { key: 'credits', label: 'Credits', type: 'integer' },
  { key: 'token', label: 'Account API Token', type: 'string' },
] as const;

/** The output fields that depend on the provider, like the input fields. */
const providerOutputs = (z: ZObject, bundle: Bundle) => {
  const provider = readProviderId(bundle.authData.provider);
  return Promise.resolve(
    provider === 'dealai'
      ? [...DEALAI_OUTPUTS]
      : provider === 'admin'
        ? [...ADMIN_OUTPUTS]
        : [...DEALAI_OUTPUTS, ...ADMIN_OUTPUTS],
  );
};

// Types, not interfaces: they must fit the Idempotency Key's flat output records.
export type AddedOnDealai = {
  provider: string;
  email: string;
  firstName: string;
  lastName: string | null;
  role: string | null;
  inviteSent: boolean;
};

export type AddedOnAdmin = {
  provider: string;
  email: string;
  credits: number;
  token: string | null;
};

export type AddedUser = AddedOnDealai | AddedOnAdmin;

/** The checked request: what to send, what makes it this request, and how to read the answer. */
interface Plan {
  body: Record<string, string | number>;
  request: Json;
  added: (answer: unknown) => AddedUser;
}

const planOnDealai = (
  z: ZObject,
  inputData: Input,
  api: Api,
  email: string,
  roles: readonly string[],
): Plan => {
  if (readCredits(z, inputData.credits, 'Starting Credits', 0) !== undefined) {
    throw invalid(
      z,
      'Starting Credits',
      'only the Administration API stores credits; leave it empty on a Deal.ai White Label connection.',
    );
  }
  const firstName = readText(inputData.firstName);
  if (firstName === undefined) {
    throw invalid(z, 'First Name', 'is empty, and Deal.ai White Label requires it.');
  }
  const lastName = readText(inputData.lastName);
  const role = readRole(inputData.role, roles);
  const inviteSent = readFlag(z, inputData.sendInviteEmail, 'Send Invite Email');
  // A password is sent as typed (spaces may be part of it), but one that is only spaces is none.
  const typed: unknown = inputData.password;
  const password =
    typeof typed === 'number'
      ? String(typed)
      : typeof typed === 'string' && typed.trim() !== ''
        ? typed
        : undefined;

  return {
    body: {
      firstName,
      ...(lastName === undefined ? {} : { lastName }),
      email,
      ...(password === undefined ? {} : { password }),
      sendInviteEmail: inviteSent ? 'yes' : 'no',
      ...(role === undefined ? {} : { role }),
    },
    // Whether a password was given, never the password itself.
    request: {
      firstName,
      lastName: lastName ?? null,
      email: email.toLowerCase(),
      password: password !== undefined,
      inviteSent,
      role: role ?? null,
    },
    added: (answer) => ({
      provider: api.connection.provider.id,
      email: textAt(answer, 'email') ?? email,
      firstName: textAt(answer, 'firstName') ?? firstName,
      lastName: textAt(answer, 'lastName') ?? lastName ?? null,
      role: textAt(answer, 'role') ?? role ?? null,
      inviteSent,
    }),
  };
};

const DEALAI_ONLY = [
  ['firstName', 'First Name'],
  ['lastName', 'Last Name'],
  ['password', 'Password'],
  ['role', 'Role'],
] as const;

const planOnAdmin = (z: ZObject, inputData: Input, api: Api, email: string): Plan => {
  const providerLabel = api.connection.provider.label;
  // Dropping a role or a password without a word would leave the user believing it was set.
  for (const [key, label] of DEALAI_ONLY) {
    if (readText(inputData[key]) !== undefined) {
      throw invalid(
        z,
        label,
        `is not stored by the ${providerLabel}; leave it empty on this connection.`,
      );
    }
  }
  if (readFlag(z, inputData.sendInviteEmail, 'Send Invite Email')) {
    throw invalid(
      z,
      'Send Invite Email',
      `the ${providerLabel} sends no invitations; set it to no.`,
    );
  }
  const credits = readCredits(z, inputData.credits, 'Starting Credits', 0);
  return {
    body: { email, ...(credits === undefined ? {} : { credits }) },
    request: { email: email.toLowerCase(), credits: credits ?? null },
    added: (answer) => {
      const account = readNewAccount(z, answer, credits ?? 0);
      return {
        provider: api.connection.provider.id,
        email: account.email,
        credits: account.credits,
        token: account.token,
      };
    },
  };
};

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<AddedUser | Output> => {
  const api = apiFor(z, bundle, LABEL, STEPS.addUser.routes);
  const email = readEmail(z, bundle.inputData.email);
  const plan =
    api.connection.provider.id === 'dealai'
      ? planOnDealai(z, bundle.inputData, api, email, readRoles(bundle.authData[ROLES_KEY]))
      : planOnAdmin(z, bundle.inputData, api, email);
  return once(
    z,
    api,
    {
      action: ADD_USER,
      key: bundle.inputData.idempotencyKey,
      request: plan.request,
      // The new account's secret token is never kept: a replay returns the account without it.
      secrets: [['token', 'Account API Token']],
    },
    async () => plan.added(await api.call('addUser', { body: plan.body })),
  );
};

export const addUser = defineCreate({
  key: ADD_USER,
  noun: 'User',
  display: {
    label: LABEL,
    description: `Creates a user on your white-label site: with a role and an invitation on Deal.ai White Label, or with starting credits on the Administration API.${onlyOn(STEPS.addUser.routes)}`,
  },
  operation: {
    // Email, the Idempotency Key and the Event Time are static, so Zap templates can fill them in.
    inputFields: [emailField, providerFields, idempotencyKeyField, eventTimeField],
    perform: inEventOrder(
      {
        label: LABEL,
        routes: STEPS.addUser.routes,
        // Nothing was sent: the provider's output fields, empty, so that samples still match.
        skipped: ({ provider, email }): Output =>
          provider === 'dealai'
            ? {
                provider,
                email,
                firstName: null,
                lastName: null,
                role: null,
                inviteSent: false,
                replayed: false,
                replayNote: null,
              }
            : { provider, email, credits: null, token: null, replayed: false, replayNote: null },
      },
      perform,
    ),
    sample: {
      provider: 'admin',
      email: 'jane.doe@example.com',
      replayed: false,
      replayNote: null,
      stale: false,
      staleNote: null,
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'provider', label: 'Provider', type: 'string' },
      providerOutputs,
      ...replayOutputFields,
      ...staleOutputFields,
    ],
  },
});
