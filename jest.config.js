/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // index.js at the root is the compiled app's shim for Zapier; tests must load the sources.
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // The end-to-end tests' OpenAPI conformance: one folder for every file's tally, one report.
  globalSetup: '<rootDir>/test/support/conformance-setup.ts',
  globalTeardown: '<rootDir>/test/support/conformance-teardown.ts',
  // zapier-platform-core's Lambda memory check would end a long Jest process (see the file).
  setupFiles: ['<rootDir>/test/support/lambda-memory.ts'],
  collectCoverageFrom: ['index.ts', 'src/**/*.ts'],
  coverageThreshold: {
    global: { lines: 95, branches: 95, functions: 95, statements: 95 },
  },
  coverageReporters: ['text-summary', 'text', 'lcov'],
};
