/**
 * End-to-end tests: the app, through the harness (tools/harness.ts, the Lambda handler in CLI
 * mode), against the
 * sandbox of both APIs on a real loopback socket. Nothing but 127.0.0.1 may be reached. After each
 * test, every request it sent and every answer it got are checked against the APIs' OpenAPI
 * documents (tools/sandbox/conformance.ts).
 */
import nock from 'nock';

import App from '../../index';
import { createConformance, formatViolation } from '../../tools/sandbox/conformance';
import type { Conformance } from '../../tools/sandbox/conformance';
import { SANDBOX_ADMIN_TOKEN, SANDBOX_DEALAI_KEY, startSandbox } from '../../tools/sandbox/server';
import type { Sandbox, SandboxOptions } from '../../tools/sandbox/server';
import { inProcessApp, methodPathOf } from '../../tools/harness';
import type { ZapierRun } from '../support/lambda';
import { saveTally } from '../support/conformance-report';

const app = inProcessApp(App, 'cli');

/** The Zapier run (account and connection) that the running file's `invoke` calls share. */
let fileRun: ZapierRun | undefined;

export interface Connections {
  sandbox: () => Sandbox;
  dealai: () => Record<string, string>;
  admin: () => Record<string, string>;
  /**
   * What Zapier adds to the event of a run by `account` on `connection`: the sandbox's RPC
   * endpoint (behind z.cache) and a fresh token standing for the two.
   */
  zapier: (account: string, connection: string) => ZapierRun;
}

/** Starts a sandbox for the file's tests; its connections are ready once beforeAll has run. */
export const useSandbox = (options: SandboxOptions = {}): Connections => {
  let started: Sandbox | undefined;
  let conformance: Conformance | undefined;
  const sandbox = (): Sandbox => {
    if (started === undefined) {
      throw new Error('the sandbox starts in beforeAll');
    }
    return started;
  };
  beforeAll(async () => {
    if (!nock.isActive()) {
      nock.activate();
    }
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    started = await startSandbox({ port: 0, dbPath: ':memory:', ...options, record: true });
    fileRun = {
      rpcBase: started.zapier.rpcUrl,
      token: started.zapier.issueToken({ account: 'e2e', connection: 'e2e' }),
    };
    conformance = await createConformance();
    // With a token the runtime streams its logs: to the sandbox, never to Zapier's log server.
    process.env.LOGGING_ENDPOINT = started.zapier.logUrl;
  });
  afterEach(() => {
    expect(conformance?.check(sandbox().takeExchanges()).map(formatViolation)).toEqual([]);
  });
  afterAll(async () => {
    await started?.close();
    nock.restore();
    if (conformance !== undefined) {
      saveTally('the end-to-end tests (test/e2e)', conformance.tally());
    }
  });
  return {
    sandbox,
    dealai: () => ({
      provider: 'dealai',
      apiKey: SANDBOX_DEALAI_KEY,
      baseUrl: sandbox().dealaiBaseUrl,
    }),
    admin: () => ({
      provider: 'admin',
      apiKey: SANDBOX_ADMIN_TOKEN,
      baseUrl: sandbox().adminBaseUrl,
    }),
    zapier: (account, connection) => ({
      rpcBase: sandbox().zapier.rpcUrl,
      token: sandbox().zapier.issueToken({ account, connection }),
    }),
  };
};

/**
 * Runs an action's perform (or the connection test) as Zapier would, with z.cache in the file's
 * sandbox: one Zapier account and connection for the whole file, as the unit tests' in-memory cache is.
 */
export const invoke = (
  fn: unknown,
  authData: Record<string, string>,
  inputData: Record<string, unknown> = {},
): Promise<unknown> => {
  if (fileRun === undefined) {
    throw new Error('invoke runs in a file that calls useSandbox, after its beforeAll');
  }
  return app.execute(methodPathOf(App, fn), { authData, inputData }, fileRun);
};
