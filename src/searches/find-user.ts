import { defineInputFields, defineSearch } from 'zapier-platform-core';
import type { Bundle, InferInputData, ZObject } from 'zapier-platform-core';

import { apiFor } from '../client';
import { emailField, readEmail } from '../fields';
import { findAccount, readAccounts } from '../records';
import type { Account } from '../records';
import { STEPS, onlyOn } from '../providers';

const FIND_USER = 'find_user';
const LABEL = 'Find User';

const inputFields = defineInputFields([
  { ...emailField, helpText: 'The email address to look for. Upper and lower case do not matter.' },
]);

type Input = InferInputData<typeof inputFields>;

const perform = async (z: ZObject, bundle: Bundle<Input>): Promise<Account[]> => {
  const api = apiFor(z, bundle, LABEL, STEPS.findUser.routes);
  const email = readEmail(z, bundle.inputData.email);
  const answer = await api.call('findUsers', { params: { email } });
  const account = findAccount(readAccounts(z, answer), email);
  // A miss is an answer, not an error: Zapier then runs the "add" half of Find or Add User.
  return account === undefined ? [] : [account];
};

export const findUser = defineSearch({
  key: FIND_USER,
  noun: 'User',
  display: {
    label: LABEL,
    description: `Finds a user's account by email address, with its remaining API credits.${onlyOn(STEPS.findUser.routes)}`,
  },
  operation: {
    inputFields,
    perform,
    sample: { email: 'jane.doe@example.com', credits: 1000 },
    outputFields: [
      { key: 'email', label: 'Email', type: 'string', primary: true },
      { key: 'credits', label: 'Credits', type: 'integer' },
    ],
  },
});
