/**
 * The tests' door to the one harness (tools/harness.ts), which runs the app the way Zapier's
 * Lambda does, with what the unit tests leave out: the event's `rpc_base` and `token`, through
 * which `z.cache` reaches Zapier (in these tests, nock or the sandbox). With a token the runtime
 * also streams its logs to LOGGING_ENDPOINT.
 */
import http from 'node:http';
import https from 'node:https';

import type { Bundle, ZObject } from 'zapier-platform-core';

import App from '../../index';
import { inProcessApp } from '../../tools/harness';
import type { Bundle as Inputs, Rpc } from '../../tools/harness';

/** What Zapier puts in the event besides the bundle: where the RPC endpoint is, and the token. */
export type ZapierRun = Rpc;

/**
 * In CLI mode (see tools/harness.ts): many invocations at once in one process, which Lambda's
 * http patch would log into one another's finished log streams.
 */
const app = inProcessApp(App, 'cli');

/** Runs a method of the app (`creates.add_user.operation.perform`, ...) as one Lambda event. */
export const execute = (method: string, bundle: Inputs, run: ZapierRun): Promise<unknown> =>
  app.execute(method, bundle, run);

/** Runs `fn` with the `z` of a real invocation whose z.cache goes to `run`; answers what it returned. */
export const withZ = <T>(
  run: ZapierRun,
  fn: (z: ZObject, bundle: Bundle) => T | Promise<T>,
): Promise<T> => app.returnOf(fn, { authData: {}, inputData: {} }, run);

/**
 * Runs an event for `app` in Lambda mode: the runtime patches Node's http and https to log
 * requests that z.request did not send (unless the app sets `flags.skipHttpPatch`). The patch
 * stays on those modules for the whole process: a test that lets it happen must put them back
 * ({@link keepHttpModules}).
 */
export const lambdaHandler =
  (app: object) =>
  (method: string, bundle: Inputs, run: ZapierRun): Promise<unknown> =>
    inProcessApp(app, 'lambda').execute(method, bundle, run);

/** Saves http.request, https.request and fetch, and returns what puts them back as they were. */
export const keepHttpModules = (): (() => void) => {
  const modules: object[] = [http, https];
  const saved = modules.map((module): unknown => Reflect.get(module, 'request'));
  const fetch = globalThis.fetch;
  return () => {
    modules.forEach((module, index) => {
      Reflect.set(module, 'request', saved[index]);
      Reflect.deleteProperty(module, 'patchedByZapier');
      Reflect.deleteProperty(module, 'zapierLogger');
    });
    globalThis.fetch = fetch;
  };
};
