/**
 * Hides Node 22's "SQLite is an experimental feature" warning, which `node:sqlite` emits on the
 * next tick after it loads; every other warning still prints. db.ts imports this before
 * `node:sqlite`, so no process that opens the sandbox's store (npm start, the tests, the smoke
 * test, the bench, npm run sandbox) shows it. Installed once per process, however often Jest
 * reloads the module.
 */
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

export {};
