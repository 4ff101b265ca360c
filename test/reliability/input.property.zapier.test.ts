/**
 * The input properties (input.property.ts) with the generated input as a Zap delivers it: rendered
 * to text, then converted to each field's declared type by zapier-platform-cli's own function.
 */
import { describeProperties } from './input.property';

describeProperties('as Zapier delivers it');
