// Named imports only: default imports make tsc emit interop helpers into every module.
import { defineApp, version as platformVersion } from 'zapier-platform-core';

import { version } from './package.json';
import { authentication } from './src/authentication';
import { addUser } from './src/creates/add-user';
import { changeRole } from './src/creates/change-role';
import { provisionCredits } from './src/creates/provision-credits';
import { removeUser } from './src/creates/remove-user';
import { STEPS, onlyOn } from './src/providers';
import { findUsage } from './src/searches/find-usage';
import { findUser } from './src/searches/find-user';
import { creditsLow } from './src/triggers/credits-low';
import { newUser } from './src/triggers/new-user';

export default defineApp({
  version,
  platformVersion,
  authentication,
  flags: {
    // The request helper (src/client.ts) reads every status itself, 429 included (which the
    // platform would otherwise turn into its own ThrottledError first), so that the user sees
    // the API's own words and the Retry-After it asked for.
    throwForThrottlingEarly: false,
    // Every request goes through z.request, which logs it once. On Zapier's Lambda the runtime
    // also patches Node's http and https to log any other request, and it tells z.request's
    // apart only by a User-Agent of exactly "Zapier" (create-http-patch.js). Ours names the
    // integration and its version, so the patch logged every API answer a second time, parsed
    // and scrubbed again, and every z.cache call too. See docs/lambda.md.
    skipHttpPatch: true,
  },
  triggers: {
    [newUser.key]: newUser,
    [creditsLow.key]: creditsLow,
  },
  creates: {
    [addUser.key]: addUser,
    [provisionCredits.key]: provisionCredits,
    [changeRole.key]: changeRole,
    [removeUser.key]: removeUser,
  },
  searches: {
    [findUser.key]: findUser,
    [findUsage.key]: findUsage,
  },
  searchOrCreates: {
    [findUser.key]: {
      key: findUser.key,
      display: {
        label: 'Find or Add User',
        description: `Finds a user's account by email address, and adds the user when none exists.${onlyOn([...STEPS.findUser.routes, ...STEPS.addUser.routes])}`,
      },
      search: findUser.key,
      create: addUser.key,
    },
  },
});
