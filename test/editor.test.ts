/**
 * What a Zap builder sees in the editor, per provider and per edition: the connection's fields,
 * the steps offered, and each step's input fields, resolved as the editor asks for them (one
 * `…operation.inputFields` event through the app's Lambda handler, with the connection's
 * authData). Each field reads `Label*` when required, `[Choice|Choice]` for a dropdown, `(note)`
 * for a copy field.
 */
import App from '../index';
import { editionOf } from '../src/editions';
import { connectionFieldsOf, editorView } from './support/editor';
import type { Field } from './support/editor';

const shown = (field: Field): string =>
  field.type === 'copy'
    ? '(note)'
    : `${field.label ?? field.key}${field.required === true ? '*' : ''}${
        field.choices === undefined
          ? ''
          : `[${field.choices.map((choice) => choice.label.split(/[:(]/)[0]?.trim() ?? '').join('|')}]`
      }`;

const keysOf = (value: unknown): string[] =>
  typeof value === 'object' && value !== null ? Object.keys(value) : [];

/** The connection's fields, and each step as `Label: its fields`, in the editor's order. */
const view = async (app: object, authData: Record<string, string>) => ({
  connection: connectionFieldsOf(app).map(shown),
  steps: (await editorView(app, authData)).map(
    (step) => `${step.label}: ${step.inputFields.map(shown).join(', ')}`,
  ),
  searchOrCreates: keysOf(Reflect.get(app, 'searchOrCreates')),
});

const COMBINED_CONNECTION = [
  'API Provider*[Deal.ai White Label|Administration API]',
  'API Key*',
  'Base URL',
  'Roles',
];

/** The steps that need the Administration API, as every connection of the combined app shows them. */
const ADMIN_STEPS = {
  newUser: 'New User: ',
  creditsLow: "Credits Running Low: Threshold*, Account[Every user's account|Your own account]",
  provision: 'Provision Credits: Email*, Credits*, Mode*[Add|Top Up], Idempotency Key',
  findUser: 'Find User: Email*',
  findUsage: 'Find Usage: Email, From*, To*, Service[Search|Browser]',
};
const REMOVE_USER = 'Remove User: (note), Email*, Succeed If Already Gone[Yes|No], Event Time';

const DEALAI_ADD_USER =
  'Add User: Email*, First Name*, Last Name, Password, Send Invite Email[Yes|No], Role, Idempotency Key, Event Time';
const ADMIN_ADD_USER = 'Add User: Email*, Starting Credits, Idempotency Key, Event Time';

describe('the integration of both providers', () => {
  it('on a Deal.ai connection: the profile fields, First Name required, no Starting Credits', async () => {
    expect(await view(App, { provider: 'dealai' })).toEqual({
      connection: COMBINED_CONNECTION,
      steps: [
        ADMIN_STEPS.newUser,
        ADMIN_STEPS.creditsLow,
        DEALAI_ADD_USER,
        ADMIN_STEPS.provision,
        'Change Role: Email*, Role, Clear Role When Empty[Yes|No], Event Time',
        REMOVE_USER,
        ADMIN_STEPS.findUser,
        ADMIN_STEPS.findUsage,
      ],
      searchOrCreates: ['find_user'],
    });
  });

  it('on a Deal.ai connection listing roles: Role is a dropdown of them in both steps', async () => {
    const { steps } = await view(App, {
      provider: 'dealai',
      roles: 'Premium Plan\nBasic Plan, premium plan',
    });

    expect(steps).toContain(
      'Add User: Email*, First Name*, Last Name, Password, Send Invite Email[Yes|No], Role[Premium Plan|Basic Plan], Idempotency Key, Event Time',
    );
    expect(steps).toContain(
      'Change Role: Email*, Role[Premium Plan|Basic Plan], Clear Role When Empty[Yes|No], Event Time',
    );
  });

  it('on an Administration API connection: Email, Starting Credits and the Idempotency Key', async () => {
    expect(await view(App, { provider: 'admin' })).toEqual({
      connection: COMBINED_CONNECTION,
      steps: [
        ADMIN_STEPS.newUser,
        ADMIN_STEPS.creditsLow,
        ADMIN_ADD_USER,
        ADMIN_STEPS.provision,
        'Change Role: Email*, Role, Clear Role When Empty[Yes|No], Event Time',
        REMOVE_USER,
        ADMIN_STEPS.findUser,
        ADMIN_STEPS.findUsage,
      ],
      searchOrCreates: ['find_user'],
    });
  });

  it('before a connection is chosen: every field, each saying which provider uses it', async () => {
    const { steps } = await view(App, {});

    expect(steps).toContain(
      'Add User: Email*, First Name, Last Name, Password, Send Invite Email[Yes|No], Role, Starting Credits, Idempotency Key, Event Time',
    );
  });

  it('says in its description which provider a step needs, when it needs one', async () => {
    const descriptions = Object.fromEntries(
      (await editorView(App, { provider: 'dealai' })).map((step) => [step.label, step.description]),
    );
    const only = (label: string) =>
      /(Deal\.ai White Label|Administration API) only\.$/.exec(descriptions[label] ?? '')?.[1];

    expect(
      ['New User', 'Credits Running Low', 'Provision Credits', 'Find User', 'Find Usage'].map(only),
    ).toEqual(Array(5).fill('Administration API'));
    expect(only('Change Role')).toBe('Deal.ai White Label');
    expect([only('Add User'), only('Remove User')]).toEqual([undefined, undefined]);
    expect(App.searchOrCreates?.find_user?.display.description).toMatch(
      / Administration API only\.$/,
    );
  });

  it('warns on Remove User what removing means on the connection', async () => {
    const note = async (authData: Record<string, string>) =>
      (await editorView(App, authData))
        .find((step) => step.label === 'Remove User')
        ?.inputFields.find((field) => field.type === 'copy')?.helpText;

    expect(await note({ provider: 'dealai' })).toMatch(
      /^\*\*Deal\.ai White Label deletes the user\*\*: the account is gone for good, not deactivated/,
    );
    expect(await note({ provider: 'admin' })).toMatch(
      /^The Administration API \*\*deactivates\*\* the account and sets its credits to zero/,
    );
    expect(await note({})).toMatch(/deletes the user.*On the Administration API: .*deactivates/s);
  });
});

describe('the Deal.ai White Label edition', () => {
  const edition = editionOf(App, 'dealai');

  it('has no API Provider field and offers only Add User, Change Role and Remove User', async () => {
    expect(await view(edition, {})).toEqual({
      connection: ['API Key*', 'Base URL', 'Roles'],
      steps: [
        DEALAI_ADD_USER,
        'Change Role: Email*, Role, Clear Role When Empty[Yes|No], Event Time',
        REMOVE_USER,
      ],
      searchOrCreates: [],
    });
  });

  it("describes each step in the edition's words, with the Deal.ai warning", async () => {
    const steps = await editorView(edition, {});

    expect(steps.map((step) => step.description)).toEqual([
      'Creates a user on your white-label site, with a role and an optional invitation email.',
      "Updates a user's role on your white-label site, or removes it so that the user falls back to the Default Role.",
      'Deletes a user from your white-label site, for good: Deal.ai does not deactivate.',
    ]);
    expect(steps[2]?.inputFields[0]?.helpText).toMatch(/^\*\*Deal\.ai White Label deletes/);
  });
});

describe('the Administration API edition', () => {
  const edition = editionOf(App, 'admin');

  it('has no API Provider or Roles field and offers every step but Change Role', async () => {
    expect(await view(edition, {})).toEqual({
      connection: ['API Key*', 'Base URL'],
      steps: [
        ADMIN_STEPS.newUser,
        ADMIN_STEPS.creditsLow,
        ADMIN_ADD_USER,
        ADMIN_STEPS.provision,
        REMOVE_USER,
        ADMIN_STEPS.findUser,
        ADMIN_STEPS.findUsage,
      ],
      searchOrCreates: ['find_user'],
    });
  });

  it('says nothing about the other provider in its descriptions', async () => {
    const steps = await editorView(edition, {});

    expect(steps.map((step) => step.description).join(' ')).not.toMatch(/Deal\.ai| only\./);
    expect(steps.find((step) => step.label === 'Remove User')?.inputFields[0]?.helpText).toMatch(
      /^The Administration API \*\*deactivates\*\*/,
    );
  });
});
