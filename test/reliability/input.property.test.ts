/** The input properties (input.property.ts) with the generated input as it is. */
import { describeProperties } from './input.property';

describeProperties('as given');
