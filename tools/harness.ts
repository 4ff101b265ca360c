/**
 * The one harness that runs the app as Zapier does: Lambda events into zapier-platform-core's app
 * handler. The tests (test/support/lambda.ts), the story, the zip smoke test and the bench all go
 * through here. Two modes:
 *
 * - `cli`: the event carries `calledFromCli`, as `zapier-platform invoke` sends it: the same path,
 *   with the platform's output checks strict, but without the runtime's patch of Node's http
 *   module (which keeps one logger per process) and without Lambda's memory line on stdout.
 * - `lambda`: the event as Lambda gets it, so the runtime patches http and https and logs every
 *   request z.request did not send.
 *
 * - `inProcessApp(app, mode)` runs an app definition (or the index.js at a path) in this process.
 *   Its `call` runs a function with a real invocation's `z`, as the app tester does: the unit tests
 *   go through it, with z.cache in an object of their own (core's in-memory stand-in).
 * - `projectApp()` loads the handler in this process from the project's root index.js (what
 *   zapierwrapper.js loads), in CLI mode, the way `npm start` runs the story.
 * - `zipApp(dir)` runs this file in a fresh Node 22 process whose working directory is an unpacked
 *   build.zip, loads that folder's zapierwrapper.js exactly as Lambda does, and passes events over
 *   IPC. Its environment cannot add module folders, so everything comes from the zip.
 *
 * An event may carry `rpc_base` and `token` (where z.cache and other RPC calls go), and a bundle
 * may carry `meta` (for example `isPopulatingDedupe` on a trigger's first poll).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import zapier from 'zapier-platform-core';
import type { Bundle as ZBundle, ZObject } from 'zapier-platform-core';

import { ROOT, isRecord, isolatedEnv } from './project';

export interface Bundle {
  authData: Record<string, string>;
  inputData: Record<string, unknown>;
  meta?: Record<string, unknown>;
}

/** Zapier's RPC endpoint for this invocation and the token it accepts (z.cache goes there). */
export interface Rpc {
  rpcBase: string;
  token: string;
  /**
   * Where the runtime streams its logs, which it does whenever the event carries a token
   * (LOGGING_ENDPOINT; Zapier's log server by default). It goes in the event's `environment`,
   * which the runtime copies into process.env before it creates its logger, so that it reaches an
   * app in another process too.
   */
  logUrl?: string;
}

/**
 * z.cache in a plain object of this process: zapier-platform-core's own stand-in for the RPC (the
 * one its app tester uses), which ignores ttl, scope and nx. Only an app in this process can share it.
 */
interface MemoryCache {
  memory: Record<string, unknown>;
}

type LambdaEvent = Record<string, unknown>;

/** Each call sends one Lambda event: it resolves with the handler's `results` or rejects. */
export interface App {
  definition: () => Promise<unknown>;
  /** The platform's schema validation of the definition (what `zapier-platform validate` runs). */
  validate: () => Promise<unknown>;
  execute: (method: string, bundle: Bundle, rpc?: Rpc) => Promise<unknown>;
  close: () => Promise<void>;
}

export interface ZipApp extends App {
  /**
   * From the child process's start to its last answer, in wall-clock and CPU milliseconds, and
   * its peak memory so far.
   */
  lastAnswer: () => Timing;
  /** Every module the child loaded for the app, and where zapier-platform-core resolved. */
  modules: () => Promise<{ files: string[]; core: string }>;
  stderr: () => string;
}

type Handler = (event: LambdaEvent) => Promise<unknown>;

const callable = (value: unknown, what: string): ((...args: unknown[]) => unknown) => {
  if (typeof value !== 'function') {
    throw new Error(`${what} is not a function`);
  }
  return (...args) => {
    const result: unknown = Reflect.apply(value, undefined, args);
    return result;
  };
};

/** The handler of the built zip unpacked in `appDir`, through its zapierwrapper.js as Lambda does. */
const loadHandler = (appDir: string): Handler => {
  const exported: unknown = createRequire(path.join(appDir, 'index.js'))('./zapierwrapper.js');
  const run = callable(
    isRecord(exported) ? exported.handler : undefined,
    'zapierwrapper.js handler',
  );
  // The handler answers `{ results, status }`; `results` is what the method returned.
  return async (event) => resultsOf(await run(event));
};

/** `cli`: the event says calledFromCli, as `zapier-platform invoke` sends it; `lambda`: as Lambda. */
export type Mode = 'cli' | 'lambda';

/**
 * zapier-platform-core's Lambda handler for an app definition or the index.js at a path (the call
 * zapierwrapper.js makes; the typings leave createAppHandler out), from this project's core.
 * It answers the handler's whole output (`{ results, status }`).
 */
const createAppHandler = (app: object | string): Handler => {
  const factory = callable(Reflect.get(zapier, 'createAppHandler'), 'createAppHandler');
  const handler = callable(factory(app), 'the handler createAppHandler made');
  return async (event) => await handler(event);
};

const resultsOf = (output: unknown): unknown => (isRecord(output) ? output.results : undefined);

/** What an event carries besides its bundle for z.cache (and the runtime's logs) to go `via`. */
const cacheFields = (via: Rpc | MemoryCache | undefined): LambdaEvent => {
  if (via === undefined) {
    return {};
  }
  if ('memory' in via) {
    return { zcacheTestObj: via.memory };
  }
  return {
    rpc_base: via.rpcBase,
    token: via.token,
    ...(via.logUrl === undefined ? {} : { environment: { LOGGING_ENDPOINT: via.logUrl } }),
  };
};

const executeEvent = (
  method: string,
  bundle: Bundle,
  via: Rpc | MemoryCache | undefined,
): LambdaEvent => ({ command: 'execute', method, bundle, ...cacheFields(via) });

const withEvents = (send: Handler, close: () => Promise<void>): App => ({
  definition: () => send({ command: 'definition' }),
  validate: () => send({ command: 'validate' }),
  execute: (method, bundle, rpc) => send(executeEvent(method, bundle, rpc)),
  close,
});

/**
 * Where `fn` sits in the app definition, as the event's `method` names it
 * (`creates.add_user.operation.perform`, `authentication.test`, ...): what the app tester finds
 * for a function it is given.
 */
const findMethodPath = (app: object, fn: unknown): string | undefined => {
  const seen = new Set<unknown>();
  const search = (node: unknown, at: readonly string[]): string | undefined => {
    if (node === fn) {
      return at.join('.');
    }
    if (!isRecord(node) || seen.has(node)) {
      return undefined;
    }
    seen.add(node);
    for (const [key, child] of Object.entries(node)) {
      const found = search(child, [...at, key]);
      if (found !== undefined) {
        return found;
      }
    }
    return undefined;
  };
  return search(app, []);
};

export const methodPathOf = (app: object, fn: unknown): string => {
  const found = findMethodPath(app, fn);
  if (found === undefined) {
    throw new Error('the function is not in the app definition');
  }
  return found;
};

export interface InProcessApp extends App {
  execute: (method: string, bundle: Bundle, via?: Rpc | MemoryCache) => Promise<unknown>;
  /**
   * Runs `fn` with a real invocation's `z` and bundle, as the app tester does: a function of the
   * app definition under its own method (so the platform checks its result as Zapier does), any
   * other function as the app's `_testRequest`.
   */
  call: (fn: unknown, bundle: Bundle, via?: Rpc | MemoryCache) => Promise<unknown>;
  /**
   * Runs `fn` as the app's `_testRequest` and answers what it returned, as it returned it: for a
   * unit of the app (a field's reader, the cache) that needs a real `z`.
   */
  returnOf: <T>(
    fn: (z: ZObject, bundle: ZBundle) => T | Promise<T>,
    bundle: Bundle,
    via?: Rpc | MemoryCache,
  ) => Promise<T>;
}

/** Runs `app` (a definition, or the path of its index.js) in this process, one event a call. */
export const inProcessApp = (app: object | string, mode: Mode): InProcessApp => {
  const flags = mode === 'cli' ? { calledFromCli: true } : {};
  const sender = (definition: object | string): Handler => {
    const handler = createAppHandler(definition);
    return async (event) => resultsOf(await handler({ ...event, ...flags }));
  };
  const send = sender(app);
  const call: InProcessApp['call'] = (fn, bundle, via) => {
    if (typeof app === 'string') {
      throw new Error('call needs the app definition, not the path of its index.js');
    }
    const method = findMethodPath(app, fn);
    if (method !== undefined) {
      return send(executeEvent(method, bundle, via));
    }
    if (typeof fn !== 'function') {
      throw new Error('call runs a function');
    }
    const adHoc = sender({ ...app, _testRequest: fn });
    return adHoc(executeEvent('_testRequest', bundle, via));
  };
  const returnOf: InProcessApp['returnOf'] = async (fn, bundle, via) => {
    let returned: { value: Awaited<ReturnType<typeof fn>> } | undefined;
    await call(
      async (z: ZObject, zBundle: ZBundle) => {
        returned = { value: await fn(z, zBundle) };
        return null;
      },
      bundle,
      via,
    );
    if (returned === undefined) {
      throw new Error('the function did not run');
    }
    return returned.value;
  };
  return {
    ...withEvents(send, () => Promise.resolve()),
    execute: (method, bundle, via) => send(executeEvent(method, bundle, via)),
    call,
    returnOf,
  };
};

/** The project's compiled app (root index.js, what zapierwrapper.js loads), in CLI mode. */
export const projectApp = (): App => inProcessApp(path.join(ROOT, 'index.js'), 'cli');

type Message = { id: number } & ({ op: 'event'; event: LambdaEvent } | { op: 'modules' });
interface Timing {
  wallMs: number;
  cpuMs: number;
  /** The child's peak resident memory so far (it only grows), in kilobytes. */
  maxRssKb: number;
}
type Reply = { id: number; timing: Timing } & (
  { ok: true; value: unknown } | { ok: false; name: string; message: string }
);

const isReply = (value: unknown): value is Reply =>
  isRecord(value) &&
  typeof value.ok === 'boolean' &&
  typeof value.id === 'number' &&
  isRecord(value.timing);

export const zipApp = (appDir: string): ZipApp => {
  // stdout is dropped: outside the CLI, zapier-platform-core logs a memory line per call there.
  const child = fork(__filename, [], {
    cwd: appDir,
    env: isolatedEnv(),
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  let last: Timing = { wallMs: Number.NaN, cpuMs: Number.NaN, maxRssKb: Number.NaN };
  let exited = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const waiting = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  let lastId = 0;
  child.on('message', (reply: unknown) => {
    if (!isReply(reply)) {
      return;
    }
    const next = waiting.get(reply.id);
    waiting.delete(reply.id);
    last = reply.timing;
    if (reply.ok) {
      next?.resolve(reply.value);
    } else {
      next?.reject(Object.assign(new Error(reply.message), { name: reply.name }));
    }
  });
  const gone = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      for (const next of waiting.values()) {
        next.reject(new Error(`the app process exited (${String(code ?? signal)}):\n${stderr}`));
      }
      resolve();
    });
  });
  const ask = (message: Message): Promise<unknown> =>
    exited
      ? Promise.reject(new Error(`the app process has exited:\n${stderr}`))
      : new Promise((resolve, reject) => {
          waiting.set(message.id, { resolve, reject });
          child.send(message);
        });
  const app = withEvents(
    (event) => ask({ id: (lastId += 1), op: 'event', event }),
    async () => {
      child.kill();
      await gone;
    },
  );
  return {
    ...app,
    lastAnswer: () => last,
    modules: async () => {
      const value = await ask({ id: (lastId += 1), op: 'modules' });
      const files = isRecord(value) && Array.isArray(value.files) ? value.files.map(String) : [];
      return { files, core: isRecord(value) ? String(value.core) : '' };
    },
    stderr: () => stderr,
  };
};

/**
 * This process's peak resident memory, in kilobytes. On Linux from VmHWM, which starts afresh
 * with the process's own memory: getrusage's maxRSS survives exec, so a child forked from a
 * large parent (the bench, holding a sandbox of 1,000,000 accounts) starts at the parent's size.
 */
export const peakRssKb = (): number => {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const peak = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (peak !== undefined) {
      return Number(peak);
    }
  } catch {
    // Not Linux: maxRSS is the process's own there.
  }
  return process.resourceUsage().maxRSS;
};

const timing = (): Timing => {
  const { user, system } = process.cpuUsage();
  return {
    wallMs: performance.now(),
    cpuMs: (user + system) / 1000,
    maxRssKb: peakRssKb(),
  };
};

/** The child side of zipApp: serves events for the app in its working directory. */
const serve = (send: (reply: Reply) => void): void => {
  const appDir = process.cwd();
  const before = new Set(Object.keys(require.cache));
  let handler: Handler | undefined;
  const answer = async (message: Message): Promise<unknown> => {
    if (message.op === 'modules') {
      return {
        files: Object.keys(require.cache).filter((file) => !before.has(file)),
        core: createRequire(path.join(appDir, 'index.js')).resolve('zapier-platform-core'),
      };
    }
    handler ??= loadHandler(appDir);
    return handler(message.event);
  };
  process.on('message', (message: Message) => {
    const { id } = message;
    answer(message).then(
      (value) => {
        send({ id, ok: true, value, timing: timing() });
      },
      (error: unknown) => {
        const { name, message: text } = error instanceof Error ? error : new Error(String(error));
        send({ id, ok: false, name, message: text, timing: timing() });
      },
    );
  });
};

if (require.main === module && process.send !== undefined) {
  serve(process.send.bind(process));
}
