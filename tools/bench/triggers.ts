/**
 * The polling triggers at the scale of a large white-label site, run as Zapier's Lambda runs them:
 * the sandbox holds N accounts (every tenth under the Credits Running Low threshold of 100), and
 * each poll runs through the built zip's handler (tools/harness.ts) in a fresh Node 22 process,
 * without `calledFromCli` (so the runtime's http patch would be on, unless the app skips it), with
 * the sandbox as Zapier's cache (rpc_base and a token) and as its log server (LOGGING_ENDPOINT),
 * whose RPC body limit is 1 MiB.
 *
 * Per poll, each with its budget line:
 * - API requests (at most 2) and the HTTP log lines per API request (exactly 1);
 * - peak RSS of the process (at most 256 MB) and the poll's CPU against a bare fetch +
 *   JSON.parse of the same GET /users answer, measured in the same run (at most 5x, goal 3x);
 * - the largest cache value written (at most 512 KB, goal 256 KB) and the bytes written (a poll
 *   that finds nothing new: at most 64 KB);
 * - wall time (Zapier stops a step after 30 s) and what the poll returns (6 MB at most).
 *
 * `npm run bench:polls -- [--accounts 50000,1000000] [--zip <file>]` runs only this part (building
 * the zip when it is stale) and writes tools/bench/results/polls-<N>.json for each N; `--zip` measures
 * another build instead (an earlier release, to compare; polls-<N>-<its folder>.json).
 * `npm run bench` runs it at 50,000 among the rest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { execFile } from 'node:child_process';

import {
  SANDBOX_ADMIN_TOKEN,
  SANDBOX_ONLY_PREFIX,
  postAsOwner,
  startSandbox,
} from '../sandbox/server';
import type { Sandbox } from '../sandbox/server';
import { buildProjectZip } from '../zip/build';
import { zipApp } from '../harness';
import type { Bundle, Rpc } from '../harness';
import { BUILD_ZIP, ROOT, isolatedEnv, readZip, unpackZip, zipIsFresh } from '../project';

export const ACCOUNTS = 50_000;
const BELOW_EVERY = 10;
const THRESHOLD = 100;
/** What a poll may send to the API, whatever the number of accounts (the issue's budget). */
export const MAX_REQUESTS = 2;
/** What a poll may return: the Lambda response limit (zapier-platform-core RESPONSE_SIZE_LIMIT). */
export const MAX_RETURN_BYTES = 6_291_456;
/** About what Zapier's Lambda has; core ends a warm process past 450 MB (memory-checker.js). */
export const MAX_RSS_MB = 256;
/** CPU of a poll against a bare fetch + JSON.parse of the same answer (goal 3). */
export const MAX_CPU_RATIO = 5;
export const GOAL_CPU_RATIO = 3;
export const MAX_VALUE_BYTES = 512 * 1024;
export const GOAL_VALUE_BYTES = 256 * 1024;
/** What a poll that finds nothing new may write to the cache. */
export const MAX_QUIET_WRITE_BYTES = 64 * 1024;
/** Zapier stops a step after 30 s. */
export const MAX_WALL_MS = 30_000;
const BARE = path.join(ROOT, 'dist', 'tools', 'bench', 'bare-parse.js');

const IDENTITY = { account: 'bench-reseller', connection: 'bench-admin' };

type Verdict = 'PASS' | 'FAIL';

export interface PollFigure {
  accounts: number;
  trigger: string;
  poll: string;
  /** A poll that should find nothing new: its writes have a budget of their own. */
  quiet: boolean;
  requests: number;
  cacheCalls: number;
  wallMs: number;
  cpuMs: number;
  /** CPU against the bare fetch + JSON.parse of GET /users; null for a poll that reads GET /user. */
  cpuRatio: number | null;
  peakRssMb: number;
  addedRssMb: number;
  items: number;
  returnedBytes: number;
  cacheWrites: number;
  bytesWritten: number;
  largestValueBytes: number;
  httpLogLines: number;
  logLinesPerRequest: number;
  budgets: { line: string; verdict: Verdict }[];
  /** The poll's error, when it failed. */
  error?: string;
  verdict: Verdict;
}

interface Poll {
  title: string;
  meta: Record<string, unknown>;
  quiet?: boolean;
  /** What happens on the site before the poll. */
  before?: (sandbox: Sandbox) => Promise<void>;
}

interface Scenario {
  trigger: string;
  zap: string;
  inputData: Record<string, unknown>;
  /** Reads GET /users (the CPU budget compares it with a bare read of that answer). */
  list: boolean;
  polls: Poll[];
}

const email = (index: number): string => `user${String(index).padStart(6, '0')}@bench.example`;

/** Adds accounts `from` to `to` (excluded): every tenth with 50 credits, the others 1,000. */
const seed = async (sandbox: Sandbox, from: number, to: number): Promise<void> => {
  for (let start = from; start < to; start += 5_000) {
    const accounts = Array.from({ length: Math.min(5_000, to - start) }, (_, offset) => {
      const index = start + offset;
      return { email: email(index), credits: index % BELOW_EVERY === 0 ? 50 : 1_000 };
    });
    await postAsOwner(sandbox, `${SANDBOX_ONLY_PREFIX}/accounts`, { accounts });
  }
};

const scenarios = (accounts: number): Scenario[] => [
  {
    trigger: 'new_user',
    zap: 'bench-new-user',
    inputData: {},
    list: true,
    polls: [
      { title: 'turn on (records IDs)', meta: { isPopulatingDedupe: true } },
      { title: 'nothing new', meta: {}, quiet: true },
      {
        title: '100 new accounts',
        meta: {},
        before: (sandbox) => seed(sandbox, accounts, accounts + 100),
      },
      { title: 'the same 100 again (dedupe)', meta: {} },
      { title: 'sample in the Zap editor', meta: { isLoadingSample: true } },
    ],
  },
  {
    trigger: 'credits_low',
    zap: 'bench-credits-low',
    inputData: { threshold: String(THRESHOLD) },
    list: true,
    polls: [
      {
        title: `turn on (${(accounts / BELOW_EVERY).toLocaleString('en-US')} already below)`,
        meta: { isPopulatingDedupe: true },
      },
      { title: 'nothing changed', meta: {}, quiet: true },
      {
        title: '100 accounts drop below',
        meta: {},
        before: async (sandbox) => {
          // The first 100 accounts with 1,000 credits each spend 950.
          const spenders = Array.from({ length: 111 }, (_, index) => index + 1);
          for (const index of spenders.filter((index) => index % BELOW_EVERY !== 0)) {
            await postAsOwner(sandbox, `${SANDBOX_ONLY_PREFIX}/consume`, {
              email: email(index),
              service: 'search',
              credits: 950,
            });
          }
        },
      },
      { title: 'the same 100 still below', meta: {} },
      { title: 'sample in the Zap editor', meta: { isLoadingSample: true } },
    ],
  },
  {
    trigger: 'credits_low',
    zap: 'bench-own-balance',
    inputData: { threshold: String(THRESHOLD), account: 'own' },
    list: false,
    polls: [
      { title: 'own account: turn on', meta: { isPopulatingDedupe: true } },
      { title: 'own account: nothing changed', meta: {}, quiet: true },
    ],
  },
];

const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

const run = promisify(execFile);

/**
 * A bare fetch + JSON.parse of GET /users in a fresh process: its CPU milliseconds (median of 3).
 * Asynchronous: the sandbox that answers runs in this process.
 */
const bareParse = async (
  sandbox: Sandbox,
): Promise<{ cpuMs: number; peakRssMb: number; bytes: number }> => {
  const runs: { cpuMs: number; peakRssMb: number; bytes: number }[] = [];
  for (let time = 0; time < 3; time += 1) {
    const { stdout } = await run(
      process.execPath,
      [BARE, `${sandbox.adminBaseUrl}/users`, SANDBOX_ADMIN_TOKEN],
      { env: isolatedEnv(), encoding: 'utf8', maxBuffer: 1024 * 1024 },
    );
    const figures: unknown = JSON.parse(stdout);
    const field = (name: string): number => {
      const value: unknown =
        typeof figures === 'object' && figures !== null ? Reflect.get(figures, name) : undefined;
      return typeof value === 'number' ? value : Number.NaN;
    };
    runs.push({ cpuMs: field('cpuMs'), peakRssMb: mb(field('maxRssKb')), bytes: field('bytes') });
  }
  runs.sort((a, b) => a.cpuMs - b.cpuMs);
  return runs[1] ?? { cpuMs: Number.NaN, peakRssMb: Number.NaN, bytes: 0 };
};

const judge = (ok: boolean): Verdict => (ok ? 'PASS' : 'FAIL');

/** Runs one poll in a fresh process of the unpacked zip in `appDir`. */
const pollOnce = async (
  appDir: string,
  sandbox: Sandbox,
  scenario: Scenario,
  poll: Poll,
  accounts: number,
  bareCpuMs: number,
): Promise<PollFigure> => {
  await poll.before?.(sandbox);
  const app = zipApp(appDir);
  try {
    await app.definition();
    const loaded = app.lastAnswer();
    const requestsBefore = sandbox.requestCount();
    const rpcBefore = sandbox.zapier.rpcCount();
    const logsBefore = sandbox.zapier.httpLogLines();
    sandbox.zapier.resetCacheWrites();
    const bundle: Bundle = {
      authData: {
        provider: 'admin',
        apiKey: SANDBOX_ADMIN_TOKEN,
        baseUrl: sandbox.adminBaseUrl,
      },
      inputData: scenario.inputData,
      meta: { ...poll.meta, zap: { id: scenario.zap } },
    };
    const rpc: Rpc = {
      rpcBase: sandbox.zapier.rpcUrl,
      token: sandbox.zapier.issueToken(IDENTITY),
      logUrl: sandbox.zapier.logUrl,
    };
    const started = performance.now();
    // A failed poll is a figure too (an older build at a size it cannot take): its error is kept.
    let error: string | undefined;
    const result = await app
      .execute(`triggers.${scenario.trigger}.operation.perform`, bundle, rpc)
      .catch((failure: unknown) => {
        error = (failure instanceof Error ? failure.message : String(failure)).split('\n')[0];
        return undefined;
      });
    const wallMs = performance.now() - started;
    const polled = app.lastAnswer();
    // The log stream ends with the invocation; its last request may still be arriving.
    for (let wait = 0; wait < 50 && sandbox.zapier.httpLogLines() === logsBefore; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const requests = sandbox.requestCount() - requestsBefore;
    const httpLogLines = sandbox.zapier.httpLogLines() - logsBefore;
    const writes = sandbox.zapier.cacheWrites();
    const returnedBytes = result === undefined ? 0 : Buffer.byteLength(JSON.stringify(result));
    const cpuMs = Math.round(polled.cpuMs - loaded.cpuMs);
    const cpuRatio = scenario.list ? Math.round((cpuMs / bareCpuMs) * 100) / 100 : null;
    const peakRssMb = mb(polled.maxRssKb);
    const logLinesPerRequest = requests === 0 ? 0 : httpLogLines / requests;
    const budgets = [
      {
        line: `requests ${String(requests)} <= ${String(MAX_REQUESTS)}`,
        ok: requests <= MAX_REQUESTS,
      },
      {
        line: `log lines per request ${logLinesPerRequest.toFixed(2)} = 1`,
        ok: logLinesPerRequest === 1,
      },
      {
        line: `peak RSS ${String(peakRssMb)} MB <= ${String(MAX_RSS_MB)} MB`,
        ok: peakRssMb <= MAX_RSS_MB,
      },
      ...(cpuRatio === null
        ? []
        : [
            {
              line: `CPU ${cpuRatio.toFixed(2)}x a bare fetch + JSON.parse <= ${String(MAX_CPU_RATIO)}x (goal ${String(GOAL_CPU_RATIO)}x${cpuRatio <= GOAL_CPU_RATIO ? ', met' : ', missed'})`,
              ok: cpuRatio <= MAX_CPU_RATIO,
            },
          ]),
      {
        line: `largest cache value ${kb(writes.largest)} <= ${kb(MAX_VALUE_BYTES)} (goal ${kb(GOAL_VALUE_BYTES)}${writes.largest <= GOAL_VALUE_BYTES ? ', met' : ', missed'})`,
        ok: writes.largest <= MAX_VALUE_BYTES,
      },
      ...(poll.quiet === true
        ? [
            {
              line: `written when nothing is new ${kb(writes.bytes)} <= ${kb(MAX_QUIET_WRITE_BYTES)}`,
              ok: writes.bytes <= MAX_QUIET_WRITE_BYTES,
            },
          ]
        : []),
      {
        line: `wall ${String(Math.round(wallMs))} ms <= ${String(MAX_WALL_MS)} ms`,
        ok: wallMs <= MAX_WALL_MS,
      },
      {
        line: `returned ${kb(returnedBytes)} <= ${kb(MAX_RETURN_BYTES)}`,
        ok: returnedBytes <= MAX_RETURN_BYTES,
      },
    ].map(({ line, ok }) => ({ line, verdict: judge(ok) }));
    return {
      accounts,
      trigger: scenario.trigger,
      poll: poll.title,
      quiet: poll.quiet === true,
      requests,
      cacheCalls: sandbox.zapier.rpcCount() - rpcBefore,
      wallMs: Math.round(wallMs),
      cpuMs,
      cpuRatio,
      peakRssMb,
      addedRssMb: mb(polled.maxRssKb - loaded.maxRssKb),
      items: Array.isArray(result) ? result.length : 0,
      returnedBytes,
      cacheWrites: writes.count,
      bytesWritten: writes.bytes,
      largestValueBytes: writes.largest,
      httpLogLines,
      logLinesPerRequest,
      budgets,
      ...(error === undefined ? {} : { error }),
      verdict: judge(budgets.every((budget) => budget.verdict === 'PASS')),
    };
  } finally {
    await app.close();
  }
};

export interface ScaleRun {
  accounts: number;
  /** The bare fetch + JSON.parse of the GET /users answer the polls read (after seeding). */
  bare: { cpuMs: number; peakRssMb: number; bytes: number };
  polls: PollFigure[];
  /** Accounts a list poll could read within Zapier's 30 s, from the slowest poll's wall time. */
  ceiling: number;
}

/** Seeds a fresh sandbox with `accounts` and runs every scenario's polls, in order. */
export const triggerPolls = async (appDir: string, accounts = ACCOUNTS): Promise<ScaleRun> => {
  const sandbox = await startSandbox({
    port: 0,
    dbPath: ':memory:',
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
  });
  try {
    await seed(sandbox, 0, accounts);
    const bare = await bareParse(sandbox);
    const polls: PollFigure[] = [];
    for (const scenario of scenarios(accounts)) {
      for (const poll of scenario.polls) {
        polls.push(await pollOnce(appDir, sandbox, scenario, poll, accounts, bare.cpuMs));
      }
    }
    const slowest = Math.max(...polls.map((poll) => poll.wallMs));
    return { accounts, bare, polls, ceiling: Math.floor((accounts * MAX_WALL_MS) / slowest) };
  } finally {
    await sandbox.close();
  }
};

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** The figures as table rows, for bench.ts's table. */
export const pollRows = (figures: readonly PollFigure[]): string[][] =>
  figures.map((figure) => [
    `${figure.trigger}: ${figure.poll}`,
    String(figure.requests),
    figure.logLinesPerRequest.toFixed(1),
    String(figure.cacheCalls),
    `${String(figure.wallMs)} ms`,
    `${String(figure.cpuMs)} ms${figure.cpuRatio === null ? '' : ` (${figure.cpuRatio.toFixed(2)}x)`}`,
    `${String(figure.peakRssMb)} MB (+${String(figure.addedRssMb)})`,
    `${String(figure.items)} / ${kb(figure.returnedBytes)}`,
    `${String(figure.cacheWrites)} / ${kb(figure.bytesWritten)}`,
    kb(figure.largestValueBytes),
    figure.verdict,
  ]);

export const POLL_HEADERS = [
  'poll',
  'requests',
  'log lines/request',
  'cache calls',
  'wall',
  'CPU (x bare parse)',
  'peak RSS (+poll)',
  'returned items / size',
  'cache writes / bytes',
  'largest value',
  'budget',
] as const;

/** Prints one run: the table, the budget lines of every poll, the ceiling. */
export const printRun = (run: ScaleRun, say: (line: string) => void): void => {
  say(
    `\nPolls at ${run.accounts.toLocaleString('en-US')} accounts, as Lambda runs them (fresh process per poll, http patch as on Lambda, logs streamed); GET /users is ${kb(run.bare.bytes)}, a bare fetch + JSON.parse of it ${String(Math.round(run.bare.cpuMs))} ms CPU, ${String(run.bare.peakRssMb)} MB peak RSS`,
  );
  const rows = [POLL_HEADERS, ...pollRows(run.polls)];
  const widths = POLL_HEADERS.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of rows) {
    say(`  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd());
  }
  for (const poll of run.polls) {
    for (const budget of poll.budgets) {
      say(`  ${budget.verdict}  ${poll.trigger}: ${poll.poll}: ${budget.line}`);
    }
  }
  say(
    `  ceiling: about ${run.ceiling.toLocaleString('en-US')} accounts within Zapier's 30 s per poll (linear from the slowest poll, ${String(Math.max(...run.polls.map((poll) => poll.wallMs)))} ms)`,
  );
};

const RESULTS_DIR = path.join(ROOT, 'tools', 'bench', 'results');

if (require.main === module) {
  const main = async (): Promise<void> => {
    const at = process.argv.indexOf('--accounts');
    // --zip <file>: measure another build (an earlier release, to compare), named in the results.
    const zipAt = process.argv.indexOf('--zip');
    const zip = zipAt >= 0 ? path.resolve(process.argv[zipAt + 1] ?? '') : BUILD_ZIP;
    const sizes = (at >= 0 ? (process.argv[at + 1] ?? '') : String(ACCOUNTS))
      .split(',')
      .map((part) => Number(part.replace(/_/g, '')));
    if (sizes.some((size) => !Number.isSafeInteger(size) || size < 200)) {
      throw new Error('--accounts takes whole numbers of 200 or more, separated by commas');
    }
    if (zipAt < 0 && !zipIsFresh()) {
      buildProjectZip(true);
    }
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-polls-'));
    let failed = false;
    try {
      unpackZip(await readZip(zip), dir);
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      for (const accounts of sizes) {
        const run = await triggerPolls(dir, accounts);
        printRun(run, (line) => {
          console.log(line);
        });
        const label = zipAt < 0 ? '' : `-${path.basename(path.dirname(zip))}`;
        const file = path.join(RESULTS_DIR, `polls-${String(accounts)}${label}.json`);
        const meta = { date: new Date().toISOString(), node: process.version, zip };
        fs.writeFileSync(file, `${JSON.stringify({ ...meta, ...run }, null, 2)}\n`);
        console.log(`  figures in ${path.relative(ROOT, file)}`);
        failed ||= run.polls.some((poll) => poll.verdict !== 'PASS');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log(failed ? '\nSome poll budget FAILED' : '\nAll poll budgets PASS');
    if (failed) {
      process.exitCode = 1;
    }
  };
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
