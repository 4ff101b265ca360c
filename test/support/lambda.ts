/**
 * Runs the app the way Zapier's Lambda does, with what the app tester leaves out: the event's
 * `rpc_base` and `token`, through which `z.cache` reaches Zapier (in these tests, nock or the
 * sandbox). With a token the runtime also streams its logs to LOGGING_ENDPOINT.
 */
import http from 'node:http';
import https from 'node:https';

import zapier from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import App from '../../index';

type Handler = (event: Record<string, unknown>) => Promise<unknown>;

/** zapier-platform-core's Lambda handler factory, which its typings leave out. */
export const createAppHandler = (app: object): Handler => {
  const factory: unknown = Reflect.get(zapier, 'createAppHandler');
  if (typeof factory !== 'function') {
    throw new Error('zapier-platform-core has no createAppHandler');
  }
  const handler: unknown = Reflect.apply(factory, zapier, [app]);
  if (typeof handler !== 'function') {
    throw new Error('createAppHandler returned no handler');
  }
  return async (event) => {
    const output: unknown = await Reflect.apply(handler, undefined, [event]);
    return output;
  };
};

const handler = createAppHandler(App);

/** What Zapier puts in the event besides the bundle: where the RPC endpoint is, and the token. */
export interface ZapierRun {
  rpcBase: string;
  token: string;
}

export interface Inputs {
  authData: Record<string, string>;
  inputData: Record<string, unknown>;
}

/**
 * calledFromCli, as `zapier-platform invoke` and the story send it: the same path, with the
 * platform's output checks made strict, but without the runtime's patch of Node's http module.
 * That patch keeps one logger per process; Lambda runs one invocation per process, while these
 * tests run many at once, which would log into one another's finished log streams.
 */
const CLI = { calledFromCli: true } as const;

const resultsOf = (output: unknown): unknown =>
  typeof output === 'object' && output !== null ? Reflect.get(output, 'results') : undefined;

/** Runs a method of the app (`creates.add_user.operation.perform`, ...) as one Lambda event. */
export const execute = async (method: string, bundle: Inputs, run: ZapierRun): Promise<unknown> =>
  resultsOf(
    await handler({
      command: 'execute',
      method,
      bundle,
      rpc_base: run.rpcBase,
      token: run.token,
      ...CLI,
    }),
  );

/**
 * Runs `fn` with the `z` of a real invocation, as the app tester runs a function that is not in
 * the app (it adds it as `_testRequest` to a copy of the app).
 */
export const withZ = async (
  run: ZapierRun,
  fn: (z: ZObject, bundle: Bundle) => Promise<unknown>,
): Promise<unknown> => {
  const adHoc = createAppHandler({ ...App, _testRequest: fn });
  return resultsOf(
    await adHoc({
      command: 'execute',
      method: '_testRequest',
      bundle: { authData: {}, inputData: {} },
      rpc_base: run.rpcBase,
      token: run.token,
      ...CLI,
    }),
  );
};

/**
 * A handler for `app` that runs an event as Zapier's Lambda does: without `calledFromCli`, so
 * the runtime patches Node's http and https to log requests that z.request did not send (unless
 * the app sets `flags.skipHttpPatch`). The patch stays on those modules for the whole process:
 * a test that lets it happen must put them back ({@link keepHttpModules}).
 */
export const lambdaHandler =
  (app: object) =>
  async (method: string, bundle: Inputs & { meta?: Record<string, unknown> }, run: ZapierRun) =>
    resultsOf(
      await createAppHandler(app)({
        command: 'execute',
        method,
        bundle,
        rpc_base: run.rpcBase,
        token: run.token,
      }),
    );

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
