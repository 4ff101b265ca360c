// Hides Node 22's "SQLite is an experimental feature" warning, which `node:sqlite` emits on the
// next tick after it loads; every other warning still prints. The one definition for two kinds of
// process: db.ts requires it before `node:sqlite` in the tools' own processes (npm start, npm run
// sandbox, the smoke test, the bench), and `npm run test:unit` and `test:fast` preload it
// (node --require, which Jest's workers inherit), because Jest gives each test file its own copy
// of `process`, from which the real one's warnings cannot be reached. Installed once per process.
// CommonJS, so that node can preload it as it is; tsconfig.tools.json copies it next to db.js.
/* global process */
const INSTALLED = Symbol.for('whitelabel-users.quiet-sqlite');

if (!Reflect.get(process, INSTALLED)) {
  Reflect.set(process, INSTALLED, true);
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && warning.message.includes('SQLite')) {
      return;
    }
    for (const listener of listeners) {
      listener(warning);
    }
  });
}
