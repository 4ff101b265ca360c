// Preloaded by `npm run test:unit` and `npm run test:fast` (node --require, which Jest's workers
// inherit): hides Node 22's "SQLite is an experimental feature" warning that the sandbox's store
// (node:sqlite) triggers, and nothing else. Jest gives each test file its own copy of `process`,
// so tools/sandbox/quiet-sqlite.ts, which does the same in the tools' own processes, cannot reach
// the real one from inside a test.
/* global process */
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
