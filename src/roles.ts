/**
 * Deal.ai roles: named in White Label Settings, and listed by no route of the API. The connection
 * may list them (an optional field), so that Add User and Change Role offer them as a dropdown.
 * A role typed or mapped that is not in the list is still sent as typed: the list only helps.
 */
import { defineInputField } from 'zapier-platform-core';
import type { AuthField } from 'zapier-platform-core';

import { readText } from './fields';

export const ROLES_KEY = 'roles';

/** The connection field (Deal.ai White Label only). */
export const rolesConnectionField: AuthField = {
  key: ROLES_KEY,
  label: 'Roles',
  type: 'text',
  required: false,
  helpText:
    'Optional, Deal.ai White Label only: the roles of your White Label Settings, one per line, exactly as named there (`Premium Plan`). Add User and Change Role then offer them in a dropdown; other roles can still be typed. Deal.ai has no route that lists roles, so keep this list up to date.',
};

/** The roles a connection lists, in order, each once (case-insensitively). */
export const readRoles = (value: unknown): string[] => {
  const text = typeof value === 'string' ? value : '';
  const roles: string[] = [];
  for (const part of text.split(/[\n,]/u)) {
    const role = part.trim().replace(/\s+/gu, ' ');
    if (role !== '' && !roles.some((known) => known.toLowerCase() === role.toLowerCase())) {
      roles.push(role);
    }
  }
  return roles;
};

/**
 * The Role input field: a dropdown of the connection's roles when it lists any (custom values
 * stay allowed), else a text field.
 */
export const roleField = (roles: readonly string[], helpText: string) =>
  defineInputField({
    key: 'role',
    label: 'Role',
    type: 'string',
    required: false,
    ...(roles.length === 0
      ? {}
      : { choices: roles.map((role) => ({ value: role, label: role, sample: role })) }),
    helpText:
      roles.length === 0
        ? `${helpText} To pick it from a list, add your roles to the connection's Roles field.`
        : `${helpText} Pick one of the roles listed on the connection, or type or map another one.`,
  });

/**
 * A role as Deal.ai must receive it: a listed role in the connection's spelling when it is one
 * of them in another case ("premium plan" for "Premium Plan"), else as typed; `undefined` when
 * empty.
 */
export const readRole = (value: unknown, roles: readonly string[]): string | undefined => {
  const role = readText(value);
  if (role === undefined) {
    return undefined;
  }
  const wanted = role.replace(/\s+/gu, ' ').toLowerCase();
  return roles.find((known) => known.toLowerCase() === wanted) ?? role;
};
