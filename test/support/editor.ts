/**
 * What the Zap editor shows: each step's label, description and input fields, the fields
 * resolved as the editor asks for them, one `…operation.inputFields` event through the app's
 * Lambda handler with the connection's authData (dynamic fields included), likewise the output
 * fields.
 */
import { inProcessApp } from '../../tools/harness';
import { isRecord } from '../../src/records';

export interface Field {
  key: string;
  label?: string;
  type?: string;
  required?: boolean;
  helpText?: string;
  default?: string;
  placeholder?: string;
  primary?: boolean;
  choices?: { value: string; label: string }[];
}

export interface StepView {
  path: string;
  label: string;
  description: string;
  inputFields: Field[];
  outputFields: Field[];
  sample: Record<string, unknown>;
}

type JsonObject = Record<string, unknown>;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

const fieldOf = (value: unknown): Field => {
  if (!isRecord(value) || typeof value.key !== 'string') {
    throw new Error(`not a field: ${JSON.stringify(value)}`);
  }
  const choices = Array.isArray(value.choices)
    ? value.choices.map((choice: unknown) => ({
        value: isRecord(choice) ? String(choice.value) : String(choice),
        label: isRecord(choice) ? String(choice.label) : String(choice),
      }))
    : undefined;
  const field: Field = { key: value.key };
  const label = text(value.label);
  const type = text(value.type);
  const helpText = text(value.helpText);
  const fallback = text(value.default);
  const placeholder = text(value.placeholder);
  return {
    ...field,
    ...(label === undefined ? {} : { label }),
    ...(type === undefined ? {} : { type }),
    ...(typeof value.required === 'boolean' ? { required: value.required } : {}),
    ...(helpText === undefined ? {} : { helpText }),
    ...(fallback === undefined ? {} : { default: fallback }),
    ...(placeholder === undefined ? {} : { placeholder }),
    ...(value.primary === true ? { primary: true } : {}),
    ...(choices === undefined ? {} : { choices }),
  };
};

/** The fields the handler answers for `method` (an `inputFields` or `outputFields` path). */
export const resolveFields = async (
  app: object,
  method: string,
  authData: Record<string, string>,
): Promise<Field[]> => {
  const fields = await inProcessApp(app, 'cli').execute(method, { authData, inputData: {} });
  if (!Array.isArray(fields)) {
    throw new Error(`${method} answered no list of fields`);
  }
  return fields.map(fieldOf);
};

const KINDS = ['triggers', 'creates', 'searches'] as const;

/** Every step of `app` as the editor shows it on a connection with `authData`. */
export const editorView = async (
  app: object,
  authData: Record<string, string>,
): Promise<StepView[]> => {
  const definition: JsonObject = isRecord(app) ? app : {};
  const views: StepView[] = [];
  for (const kind of KINDS) {
    const group = definition[kind];
    for (const [key, step] of Object.entries(isRecord(group) ? group : {})) {
      const display = isRecord(step) && isRecord(step.display) ? step.display : {};
      const operation = isRecord(step) && isRecord(step.operation) ? step.operation : {};
      const path = `${kind}.${key}`;
      views.push({
        path,
        label: text(display.label) ?? '',
        description: text(display.description) ?? '',
        inputFields: await resolveFields(app, `${path}.operation.inputFields`, authData),
        outputFields: await resolveFields(app, `${path}.operation.outputFields`, authData),
        sample: isRecord(operation.sample) ? operation.sample : {},
      });
    }
  }
  return views;
};

/** The connection fields of `app`. */
export const connectionFieldsOf = (app: object): Field[] => {
  const authentication = isRecord(app) ? app.authentication : undefined;
  const fields = isRecord(authentication) ? authentication.fields : undefined;
  return (Array.isArray(fields) ? fields : []).map(fieldOf);
};
