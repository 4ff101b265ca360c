/**
 * Drives the app as Zapier's Lambda does: Lambda events into zapier-platform-core's app handler.
 * The story, the zip smoke test and the bench all go through here.
 *
 * - `projectApp()` loads the handler in this process from the project's root index.js (what
 *   zapierwrapper.js loads), the way `npm start` runs the story.
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

type LambdaEvent = Record<string, unknown>;

/** Each call sends one Lambda event: it resolves with the handler's `results` or rejects. */
export interface App {
  definition: () => Promise<unknown>;
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

/**
 * The handler of the app in `appDir`, with modules resolved from there: its zapierwrapper.js when
 * `viaWrapper` (a built zip), else zapier-platform-core's createAppHandler on its index.js, which
 * is the call zapierwrapper.js makes (the typings leave createAppHandler out).
 */
const loadHandler = (appDir: string, viaWrapper: boolean): Handler => {
  const requireFromApp = createRequire(path.join(appDir, 'index.js'));
  const member = (id: string, key: string): unknown => {
    const exported: unknown = requireFromApp(id);
    return isRecord(exported) ? exported[key] : undefined;
  };
  const run = viaWrapper
    ? callable(member('./zapierwrapper.js', 'handler'), 'zapierwrapper.js handler')
    : callable(
        callable(
          member('zapier-platform-core', 'createAppHandler'),
          'createAppHandler',
        )(path.join(appDir, 'index.js')),
        'the handler createAppHandler made',
      );
  // The handler answers `{ results, status }`; `results` is what the method returned.
  return async (event) => {
    const output: unknown = await run(event);
    return isRecord(output) ? output.results : undefined;
  };
};

const withEvents = (send: Handler, close: () => Promise<void>): App => ({
  definition: () => send({ command: 'definition' }),
  execute: (method, bundle, rpc) =>
    send({
      command: 'execute',
      method,
      bundle,
      ...(rpc === undefined ? {} : { rpc_base: rpc.rpcBase, token: rpc.token }),
      ...(rpc?.logUrl === undefined ? {} : { environment: { LOGGING_ENDPOINT: rpc.logUrl } }),
    }),
  close,
});

export const projectApp = (): App => {
  const handler = loadHandler(ROOT, false);
  // calledFromCli, as `zapier-platform invoke` sends it: the same path without Lambda's
  // per-call memory line on this process's stdout.
  return withEvents(
    (event) => handler({ ...event, calledFromCli: true }),
    () => Promise.resolve(),
  );
};

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
    handler ??= loadHandler(appDir, true);
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
