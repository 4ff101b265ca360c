/**
 * Inputs as Zapier delivers them. In a Zap every mapped value is rendered to text, and before
 * perform runs the platform converts it to the field's declared type: `integer` by parseInt
 * ("1,000" becomes 1), `boolean` by a word list in which any unknown word is true. The CLI's
 * `invoke` does the same with the function taken here from the installed zapier-platform-cli, so
 * tests that run a case both ways see what a real Zap would hand the action.
 */
import { createRequire } from 'node:module';

type Input = Record<string, unknown>;
type Action = { operation: { inputFields?: readonly unknown[] } };

/** How a test hands an action its input: as written in the test, or through the platform. */
export const DELIVERIES = ['as given', 'as Zapier delivers it'] as const;
export type Delivery = (typeof DELIVERIES)[number];

const loadConversion = (): ((input: Input, fields: readonly unknown[], zone: string) => Input) => {
  const loaded: unknown = createRequire(__filename)(
    'zapier-platform-cli/src/oclif/commands/invoke/input-types',
  );
  if (typeof loaded !== 'function') {
    throw new Error("zapier-platform-cli's invoke/input-types no longer exports a function");
  }
  return (input, fields, zone) => {
    const converted: unknown = Reflect.apply(loaded, undefined, [input, fields, zone]);
    if (typeof converted !== 'object' || converted === null) {
      throw new Error('the conversion returned no input data');
    }
    return Object.fromEntries(Object.entries(converted));
  };
};

/** zapier-platform-cli's resolveInputDataTypes, as `invoke` applies it. */
const resolveInputDataTypes = loadConversion();

/** A value as a Zap renders it: text, and absent when nothing was mapped. */
const rendered = (value: unknown): string | undefined => {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value);
};

/** `input` rendered to text, then converted with `fields` the way the platform does. */
export const convertAsZapier = (fields: readonly unknown[], input: Input): Input => {
  const text: Input = {};
  for (const [key, value] of Object.entries(input)) {
    const shown = rendered(value);
    if (shown !== undefined) {
      text[key] = shown;
    }
  }
  return resolveInputDataTypes(text, fields, 'UTC');
};

/** The input an action receives under `delivery`. */
export const deliver = (delivery: Delivery, action: Action, input: Input): Input =>
  delivery === 'as given' ? input : convertAsZapier(action.operation.inputFields ?? [], input);

/** What a user who mapped `input` typed into each field, under `delivery` (for models). */
export const typed = (delivery: Delivery, input: Input): Input =>
  delivery === 'as given'
    ? input
    : Object.fromEntries(Object.entries(input).map(([key, value]) => [key, rendered(value)]));
