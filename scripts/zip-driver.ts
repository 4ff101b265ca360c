/**
 * The harness that runs inside a fresh Node 22 process whose working directory is an unpacked
 * build.zip, playing the part of Zapier's Lambda runtime: it loads `zapierwrapper.js` from that
 * folder and calls its `handler` with Lambda events. It imports nothing but Node built-ins, and
 * every module of the integration is resolved from the unpacked folder (createRequire there), so
 * nothing can come from the project's node_modules; the `modules` request lets the parent check.
 *
 * Modes (argv[2]):
 * - `serve`: answers requests from the parent over the IPC channel (see `Request`).
 * - `cold`: loads the handler, answers one `definition` event, prints the timings, exits.
 * - `profile <baseUrl> <apiKey> <calls>`: a warm add_user loop, for `node --cpu-prof`; prints
 *   the loop's start and end on the monotonic clock that V8's profiler also uses.
 * - `import-trace`: loads zapier-platform-core, then traces file system, network and timer use
 *   while the integration (index.js -> dist/index.js) is loaded, and prints what it saw.
 *
 * Results go to stdout as one line `@@RESULT <json>`, since zapier-platform-core itself logs to
 * stdout (a "ZID ... RSSMEM" line per invocation outside of tests).
 */
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export const RESULT_MARK = '@@RESULT ';

export type LambdaEvent = Record<string, unknown>;
type Handler = (event: LambdaEvent) => Promise<unknown>;

export interface Bundle {
  authData: Record<string, string>;
  inputData: Record<string, unknown>;
}

export type Request =
  | { op: 'definition' }
  | { op: 'execute'; method: string; bundle: Bundle }
  | { op: 'modules' }
  | { op: 'warm'; baseUrl: string; apiKey: string; rounds: number; batch: number; warmup: number }
  | { op: 'exit' };

export type Reply = { ok: true; value: unknown } | { ok: false; error: string };

export interface WarmTimings {
  /** Mean microseconds per call of each handler batch, in run order. */
  handlerUs: number[];
  /** Mean microseconds per call of each plain-request batch, in run order. */
  plainUs: number[];
}

export interface ColdTimings {
  /** Milliseconds since the process started (performance.timeOrigin). */
  bootMs: number;
  loadedMs: number;
  answeredMs: number;
  creates: number;
}

export interface ModuleReport {
  /** Files in require.cache, the driver excepted. */
  files: string[];
  /** Where zapier-platform-core resolves from the app folder. */
  core: string;
}

export interface TraceCall {
  api: string;
  target: string;
  caller: string;
  viaRequire: boolean;
}

export interface ImportTrace {
  importMs: number;
  fs: TraceCall[];
  network: TraceCall[];
  newResources: string[];
  modulesLoaded: string[];
}

const appDir = process.cwd();
const requireFromApp = createRequire(path.join(appDir, 'index.js'));

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const hasHandler = (value: unknown): value is { handler: Handler } =>
  isRecord(value) && typeof value.handler === 'function';

let handler: Handler | undefined;
const loadHandler = (): Handler => {
  if (handler === undefined) {
    const wrapper: unknown = requireFromApp('./zapierwrapper.js');
    if (!hasHandler(wrapper)) {
      throw new Error('zapierwrapper.js does not export a handler function');
    }
    handler = wrapper.handler;
  }
  return handler;
};

/** Zapier appends "What happened: ..." and console logs to error messages; line one is the error. */
const errorText = (error: unknown): string => {
  if (error instanceof Error) {
    return `${error.name}: ${error.message.split('\n')[0] ?? ''}`;
  }
  return String(error);
};

/** The handler's answer is `{ results, status }`; `results` is what the method returned. */
const results = (output: unknown): unknown => (isRecord(output) ? output.results : undefined);

export const definitionEvent = (): LambdaEvent => ({ command: 'definition' });

export const executeEvent = (method: string, bundle: Bundle): LambdaEvent => ({
  command: 'execute',
  method,
  bundle,
});

const addUserBundle = (baseUrl: string, apiKey: string, index: number): Bundle => ({
  authData: { provider: 'admin', apiKey, baseUrl },
  inputData: { email: `warm.${index}@example.com`, credits: 5 },
});

/**
 * node:http's own request function, taken before the first handler call: outside of the CLI,
 * zapier-platform-core replaces http.request and https.request with a logging proxy on every
 * invocation (tools/create-http-patch.js), and that proxy only takes (options, callback), so a
 * (url, options, callback) call never sees its callback. The baseline must be plain HTTP anyway.
 */
const originalHttpRequest = http.request;

/** What the integration sends for add_user on the admin API, sent with node:http directly. */
const plainAddUser = (baseUrl: string, apiKey: string, index: number): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ email: `warm.${index}@example.com`, credits: 5 });
    const request = originalHttpRequest(
      `${baseUrl}/users`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${apiKey}`,
          Accept: 'application/json',
          'User-Agent': 'zapier-whitelabel-users/bench',
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode !== 201) {
            reject(new Error(`plain request answered ${String(response.statusCode)}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });

const runHandlerAddUser = async (baseUrl: string, apiKey: string, index: number) => {
  const output = results(
    await loadHandler()(
      executeEvent('creates.add_user.operation.perform', addUserBundle(baseUrl, apiKey, index)),
    ),
  );
  if (!isRecord(output) || typeof output.token !== 'string') {
    throw new Error(`add_user returned ${JSON.stringify(output)}`);
  }
};

const warm = async (request: Extract<Request, { op: 'warm' }>): Promise<WarmTimings> => {
  const { baseUrl, apiKey, rounds, batch, warmup } = request;
  let index = 0;
  for (let i = 0; i < warmup; i += 1) {
    await runHandlerAddUser(baseUrl, apiKey, (index += 1));
    await plainAddUser(baseUrl, apiKey, (index += 1));
  }
  const timeBatch = async (call: (n: number) => Promise<unknown>): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < batch; i += 1) {
      await call((index += 1));
    }
    return ((performance.now() - start) * 1000) / batch;
  };
  const handlerBatch = () => timeBatch((n) => runHandlerAddUser(baseUrl, apiKey, n));
  const plainBatch = () => timeBatch((n) => plainAddUser(baseUrl, apiKey, n));
  const timings: WarmTimings = { handlerUs: [], plainUs: [] };
  for (let round = 0; round < rounds; round += 1) {
    // Alternate which side goes first, so neither always runs on a freshly collected heap.
    if (round % 2 === 0) {
      timings.handlerUs.push(await handlerBatch());
      timings.plainUs.push(await plainBatch());
    } else {
      timings.plainUs.push(await plainBatch());
      timings.handlerUs.push(await handlerBatch());
    }
  }
  return timings;
};

const moduleReport = (): ModuleReport => ({
  files: Object.keys(requireFromApp.cache).filter((file) => file !== __filename),
  core: requireFromApp.resolve('zapier-platform-core'),
});

const answer = async (request: Request): Promise<unknown> => {
  switch (request.op) {
    case 'definition':
      return results(await loadHandler()(definitionEvent()));
    case 'execute':
      return results(await loadHandler()(executeEvent(request.method, request.bundle)));
    case 'modules':
      return moduleReport();
    case 'warm':
      return warm(request);
    case 'exit':
      process.disconnect();
      return null;
  }
};

const isRequest = (value: unknown): value is Request =>
  isRecord(value) &&
  ['definition', 'execute', 'modules', 'warm', 'exit'].includes(String(value.op));

const serve = (): void => {
  if (process.send === undefined) {
    throw new Error('serve mode needs an IPC channel (child_process.fork)');
  }
  const send = process.send.bind(process);
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) {
      send({ ok: false, error: `unknown request ${JSON.stringify(message)}` });
      return;
    }
    answer(message).then(
      (value) => {
        if (message.op !== 'exit') {
          send({ ok: true, value } satisfies Reply);
        }
      },
      (error: unknown) => send({ ok: false, error: errorText(error) } satisfies Reply),
    );
  });
};

const print = (value: unknown): void => {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);
};

const cold = async (): Promise<void> => {
  const bootMs = performance.now();
  const run = loadHandler();
  const loadedMs = performance.now();
  const definition = results(await run(definitionEvent()));
  const answeredMs = performance.now();
  const creates = isRecord(definition) && isRecord(definition.creates) ? definition.creates : {};
  print({
    bootMs,
    loadedMs,
    answeredMs,
    creates: Object.keys(creates).length,
  } satisfies ColdTimings);
};

const microseconds = (): number => Number(process.hrtime.bigint() / 1000n);

const profile = async (baseUrl: string, apiKey: string, calls: number): Promise<void> => {
  for (let i = 0; i < 200; i += 1) {
    await runHandlerAddUser(baseUrl, apiKey, i);
  }
  const startUs = microseconds();
  for (let i = 0; i < calls; i += 1) {
    await runHandlerAddUser(baseUrl, apiKey, i);
  }
  const endUs = microseconds();
  print({ startUs, endUs, calls });
};

/** The file and line that made a call, skipping this file; and whether require() was on the way. */
const callerOf = (stack: string): { caller: string; viaRequire: boolean } => {
  let viaRequire = false;
  for (const line of stack.split('\n').slice(1)) {
    const location = /\(?((?:node:|file:\/\/|\/)[^()]*?):\d+:\d+\)?$/.exec(line.trim())?.[1];
    if (location === undefined || location === __filename) {
      continue;
    }
    if (location.startsWith('node:internal/modules/')) {
      viaRequire = true;
      continue;
    }
    if (location.startsWith('node:')) {
      continue;
    }
    return { caller: location, viaRequire };
  }
  return { caller: '(node internals)', viaRequire };
};

const describeTarget = (value: unknown): string => {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number') {
    return `fd ${value}`;
  }
  if (value instanceof URL) {
    return value.href;
  }
  if (isRecord(value)) {
    const host = value.host ?? value.hostname ?? value.path;
    return typeof host === 'string' ? host : '(options)';
  }
  return typeof value;
};

const FS_FUNCTIONS = [
  'readFileSync',
  'readFile',
  'openSync',
  'open',
  'readdirSync',
  'readdir',
  'statSync',
  'stat',
  'existsSync',
  'createReadStream',
  'writeFileSync',
  'writeFile',
  'mkdirSync',
  'watch',
];
const FS_PROMISES = ['readFile', 'open', 'readdir', 'stat', 'writeFile'];

/** Replaces `target[name]` with a recorder; returns the undo. */
const intercept = (target: object, name: string, api: string, into: TraceCall[]): (() => void) => {
  const original: unknown = Reflect.get(target, name);
  if (typeof original !== 'function') {
    return () => undefined;
  }
  const recorder = function (this: unknown, ...args: unknown[]): unknown {
    const { caller, viaRequire } = callerOf(new Error().stack ?? '');
    into.push({ api, target: describeTarget(args[0]), caller, viaRequire });
    return Reflect.apply(original, this, args);
  };
  Reflect.set(target, name, recorder);
  return () => Reflect.set(target, name, original);
};

const importTrace = (): void => {
  // The platform first, exactly as zapierwrapper.js loads it; the app is not loaded yet.
  loadHandler();
  const fsCalls: TraceCall[] = [];
  const networkCalls: TraceCall[] = [];
  const undo = [
    ...FS_FUNCTIONS.map((name) => intercept(fs, name, `fs.${name}`, fsCalls)),
    ...FS_PROMISES.map((name) => intercept(fs.promises, name, `fs.promises.${name}`, fsCalls)),
    intercept(net.Socket.prototype, 'connect', 'net.Socket#connect', networkCalls),
    intercept(net, 'connect', 'net.connect', networkCalls),
    intercept(net, 'createConnection', 'net.createConnection', networkCalls),
    intercept(tls, 'connect', 'tls.connect', networkCalls),
    intercept(http, 'request', 'http.request', networkCalls),
    intercept(http, 'get', 'http.get', networkCalls),
    intercept(https, 'request', 'https.request', networkCalls),
    intercept(https, 'get', 'https.get', networkCalls),
    intercept(dns, 'lookup', 'dns.lookup', networkCalls),
    intercept(globalThis, 'fetch', 'fetch', networkCalls),
  ];
  const cachedBefore = new Set(Object.keys(requireFromApp.cache));
  const resourcesBefore = process.getActiveResourcesInfo();
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const start = performance.now();
  const app: unknown = requireFromApp('./index.js');
  const importMs = performance.now() - start;
  Error.stackTraceLimit = previousLimit;
  for (const restore of undo) {
    restore();
  }
  if (!isRecord(app) || !isRecord(app.creates)) {
    throw new Error('index.js did not export an app definition');
  }
  const remaining = [...resourcesBefore];
  const newResources = process.getActiveResourcesInfo().filter((resource) => {
    const at = remaining.indexOf(resource);
    if (at >= 0) {
      remaining.splice(at, 1);
      return false;
    }
    return true;
  });
  print({
    importMs,
    fs: fsCalls,
    network: networkCalls,
    newResources,
    modulesLoaded: Object.keys(requireFromApp.cache).filter((file) => !cachedBefore.has(file)),
  } satisfies ImportTrace);
};

const main = async (): Promise<void> => {
  const [mode, ...rest] = process.argv.slice(2);
  switch (mode) {
    case 'serve':
      serve();
      return;
    case 'cold':
      await cold();
      return;
    case 'profile':
      await profile(rest[0] ?? '', rest[1] ?? '', Number(rest[2] ?? '1000'));
      return;
    case 'import-trace':
      importTrace();
      return;
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
};

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`zip-driver: ${errorText(error)}\n`);
    process.exitCode = 1;
  });
}
