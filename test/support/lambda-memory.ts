/**
 * zapier-platform-core ends the process (process.exit) once it has handled more than 250 events
 * and uses over 450 MB: on Lambda that recycles a container. A Jest process handles thousands of
 * events across files and passes 450 MB for reasons that are Jest's own (every file's modules and
 * transforms), so an unlucky file would end the whole run. Tests lift that limit; the app's own
 * memory is measured by `npm run bench`, in a process of its own.
 */
import { createRequire } from 'node:module';

const constants: unknown = createRequire(__filename)('zapier-platform-core/src/constants');
if (
  typeof constants !== 'object' ||
  constants === null ||
  typeof Reflect.get(constants, 'KILL_MAX_LIMIT') !== 'number'
) {
  throw new Error('zapier-platform-core/src/constants no longer holds KILL_MAX_LIMIT');
}
Reflect.set(constants, 'KILL_MAX_LIMIT', Number.POSITIVE_INFINITY);
