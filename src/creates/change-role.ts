import { defineCreate, defineInputFields } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import { emailField, invalid, readEmail, readFlag, yesNoField } from '../fields';
import { eventTimeField, inEventOrder, staleOutputFields } from '../ordering';
import { textAt } from '../records';
import { ROLES_KEY, readRole, readRoles, roleField } from '../roles';
import { STEPS, onlyOn } from '../providers';

const CHANGE_ROLE = 'change_role';
const LABEL = 'Change Role';

const ROLE_HELP =
  'The new role, exactly as named in your White Label Settings, such as "Premium Plan". When it is empty the step stops, unless Clear Role When Empty is yes.';

const clearRoleField = yesNoField({
  key: 'clearRole',
  label: 'Clear Role When Empty',
  helpText:
    "Yes: when Role is empty, remove the user's role so they fall back to the Default Role (for a cancelled plan). No: an empty Role stops the step, so a mapped field that arrives empty never strips someone's plan.",
});

/** Role: a dropdown of the roles the connection lists, or a text field when it lists none. */
const roleFields = (z: ZObject, bundle: Bundle) => [
  roleField(readRoles(bundle.authData[ROLES_KEY]), ROLE_HELP),
];

/**
 * Every field, as perform receives them.
 * @public Only its type is used (perform's input); exported so that no-unused-vars accepts it.
 */
export const everyField = defineInputFields([
  emailField,
  roleField([], ROLE_HELP),
  clearRoleField,
  eventTimeField,
]);

type Input = InferInputData<typeof everyField>;

export interface ChangedRole {
  provider: string;
  email: string;
  role: string | null;
  roleCleared: boolean;
}

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<ChangedRole> => {
  const api = apiFor(z, bundle, LABEL, STEPS.changeRole.routes);
  const email = readEmail(z, bundle.inputData.email);
  const role = readRole(bundle.inputData.role, readRoles(bundle.authData[ROLES_KEY]));
  const clearWhenEmpty = readFlag(z, bundle.inputData.clearRole, 'Clear Role When Empty');
  if (role === undefined && !clearWhenEmpty) {
    throw invalid(
      z,
      'Role',
      'is empty, so the role was left as it is. To remove the role, set Clear Role When Empty to yes.',
    );
  }
  // Deal.ai removes the role when `role` is missing; we never send it empty.
  const answer = await api.call('changeRole', {
    body: { email, ...(role === undefined ? {} : { role }) },
  });
  return {
    provider: api.connection.provider.id,
    email: textAt(answer, 'email') ?? email,
    role: role === undefined ? null : (textAt(answer, 'role') ?? role),
    roleCleared: role === undefined,
  };
};

export const changeRole = defineCreate({
  key: CHANGE_ROLE,
  noun: 'Role',
  display: {
    label: LABEL,
    description: `Updates a user's role on your white-label site, or removes it so that the user falls back to the Default Role.${onlyOn(STEPS.changeRole.routes)}`,
  },
  operation: {
    inputFields: [emailField, roleFields, clearRoleField, eventTimeField],
    perform: inEventOrder(
      {
        label: LABEL,
        routes: STEPS.changeRole.routes,
        skipped: ({ provider, email }): ChangedRole => ({
          provider,
          email,
          role: null,
          roleCleared: false,
        }),
      },
      perform,
    ),
    sample: {
      provider: 'dealai',
      email: 'jane.doe@example.com',
      role: 'Premium Plan',
      roleCleared: false,
      stale: false,
      staleNote: null,
    },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'provider', label: 'Provider', type: 'string' },
      { key: 'role', label: 'Role', type: 'string' },
      { key: 'roleCleared', label: 'Role Cleared', type: 'boolean' },
      ...staleOutputFields,
    ],
  },
});
