/**
 * The polling triggers at the scale of a large white-label site: the sandbox holds 50,000
 * accounts (5,000 of them under the Credits Running Low threshold of 100), and each poll runs
 * through the built zip's handler (scripts/harness.ts) in a fresh Node 22 process, with the
 * sandbox as Zapier's cache (rpc_base and a token, as on Zapier).
 *
 * Per poll: API requests (budget: 2, whatever the number of accounts) and cache calls, wall time,
 * the process's CPU time for the poll, its peak memory (and how much the poll added to what
 * loading the app took), what the poll returns (items, bytes: Zapier's limit is 6 MB) and what the
 * trigger keeps in the cache afterwards (bytes, and whether the poll wrote it).
 *
 * `node dist/bench/triggers.js` runs only this part (building the zip when it is stale).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  SANDBOX_ADMIN_TOKEN_DEFAULT,
  SANDBOX_ONLY_PREFIX,
  postAsOwner,
  startSandbox,
} from '../sandbox/server';
import type { Sandbox } from '../sandbox/server';
import { buildProjectZip } from '../scripts/build-zip';
import { zipApp } from '../scripts/harness';
import type { Bundle, Rpc } from '../scripts/harness';
import { BUILD_ZIP, readZip, unpackZip, zipIsFresh } from '../scripts/project';
import { cacheKey } from '../src/cache';

export const ACCOUNTS = 50_000;
const BELOW_EVERY = 10;
const THRESHOLD = 100;
/** What a poll may send to the API, whatever the number of accounts (the issue's budget). */
export const MAX_REQUESTS = 2;
/** What a poll may return: the Lambda response limit (zapier-platform-core RESPONSE_SIZE_LIMIT). */
export const MAX_RETURN_BYTES = 6_291_456;

const IDENTITY = { account: 'bench-reseller', connection: 'bench-admin' };

export interface PollFigure {
  trigger: string;
  poll: string;
  requests: number;
  cacheCalls: number;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  addedRssMb: number;
  items: number;
  returnedBytes: number;
  storedBytes: number;
  wrote: boolean;
  verdict: 'PASS' | 'OVER BUDGET';
}

interface Poll {
  title: string;
  meta: Record<string, unknown>;
  /** What happens on the site before the poll. */
  before?: (sandbox: Sandbox) => Promise<void>;
}

interface Scenario {
  trigger: string;
  zap: string;
  inputData: Record<string, unknown>;
  /** The memory's name in the cache (see src/triggers). */
  memory: string;
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

const SCENARIOS: Scenario[] = [
  {
    trigger: 'new_user',
    zap: 'bench-new-user',
    inputData: {},
    memory: 'accounts',
    polls: [
      { title: 'turn on (records IDs)', meta: { isPopulatingDedupe: true } },
      { title: 'nothing new', meta: {} },
      {
        title: '100 new accounts',
        meta: {},
        before: (sandbox) => seed(sandbox, ACCOUNTS, ACCOUNTS + 100),
      },
      { title: 'the same 100 again (dedupe)', meta: {} },
      { title: 'sample in the Zap editor', meta: { isLoadingSample: true } },
    ],
  },
  {
    trigger: 'credits_low',
    zap: 'bench-credits-low',
    inputData: { threshold: String(THRESHOLD) },
    memory: `users:${String(THRESHOLD)}`,
    polls: [
      {
        title: `turn on (${String(ACCOUNTS / BELOW_EVERY)} already below)`,
        meta: { isPopulatingDedupe: true },
      },
      { title: 'nothing changed', meta: {} },
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
    ],
  },
  {
    trigger: 'credits_low',
    zap: 'bench-own-balance',
    inputData: { threshold: String(THRESHOLD), account: 'own' },
    memory: `own:${String(THRESHOLD)}`,
    polls: [
      { title: 'own account: turn on', meta: { isPopulatingDedupe: true } },
      { title: 'own account: nothing changed', meta: {} },
    ],
  },
];

/** What the trigger keeps in the sandbox's cache, read the way the runtime reads it. */
const stored = async (sandbox: Sandbox, scenario: Scenario): Promise<string | null> => {
  const key = cacheKey(
    ['poll', scenario.trigger, 'admin', sandbox.adminBaseUrl, scenario.zap],
    scenario.memory,
  );
  const response = await fetch(sandbox.zapier.rpcUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Token': sandbox.zapier.issueToken(IDENTITY) },
    body: JSON.stringify({ id: 1, method: 'zcache_get', params: [key, ['auth']] }),
  });
  const answer: unknown = await response.json();
  const result: unknown =
    typeof answer === 'object' && answer !== null ? Reflect.get(answer, 'result') : undefined;
  return typeof result === 'string' ? result : null;
};

const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

/** Runs one poll in a fresh process of the unpacked zip in `appDir`. */
const pollOnce = async (
  appDir: string,
  sandbox: Sandbox,
  scenario: Scenario,
  poll: Poll,
): Promise<PollFigure> => {
  await poll.before?.(sandbox);
  const app = zipApp(appDir);
  try {
    await app.definition();
    const loaded = app.lastAnswer();
    const before = { requests: sandbox.requestCount(), rpc: sandbox.zapier.rpcCount() };
    const storedBefore = await stored(sandbox, scenario);
    const rpcBase = sandbox.zapier.rpcCount();
    const bundle: Bundle = {
      authData: {
        provider: 'admin',
        apiKey: SANDBOX_ADMIN_TOKEN_DEFAULT,
        baseUrl: sandbox.adminBaseUrl,
      },
      inputData: scenario.inputData,
      meta: { ...poll.meta, zap: { id: scenario.zap } },
    };
    const rpc: Rpc = { rpcBase: sandbox.zapier.rpcUrl, token: sandbox.zapier.issueToken(IDENTITY) };
    const started = performance.now();
    const result = await app.execute(`triggers.${scenario.trigger}.operation.perform`, bundle, rpc);
    const wallMs = performance.now() - started;
    const polled = app.lastAnswer();
    const requests = sandbox.requestCount() - before.requests;
    const cacheCalls = sandbox.zapier.rpcCount() - rpcBase;
    const storedAfter = await stored(sandbox, scenario);
    const returnedBytes = Buffer.byteLength(JSON.stringify(result));
    return {
      trigger: scenario.trigger,
      poll: poll.title,
      requests,
      cacheCalls,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(polled.cpuMs - loaded.cpuMs),
      peakRssMb: mb(polled.maxRssKb),
      addedRssMb: mb(polled.maxRssKb - loaded.maxRssKb),
      items: Array.isArray(result) ? result.length : 0,
      returnedBytes,
      storedBytes: storedAfter === null ? 0 : Buffer.byteLength(storedAfter),
      wrote: storedAfter !== storedBefore,
      verdict:
        requests <= MAX_REQUESTS && returnedBytes <= MAX_RETURN_BYTES ? 'PASS' : 'OVER BUDGET',
    };
  } finally {
    await app.close();
  }
};

/** Seeds a fresh sandbox and runs every scenario's polls, in order. */
export const triggerPolls = async (appDir: string): Promise<PollFigure[]> => {
  const sandbox = await startSandbox({
    port: 0,
    dbPath: ':memory:',
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
  });
  // With a token the runtime streams its logs: to the sandbox, never to Zapier's log server.
  process.env.LOGGING_ENDPOINT = sandbox.zapier.logUrl;
  try {
    await seed(sandbox, 0, ACCOUNTS);
    const figures: PollFigure[] = [];
    for (const scenario of SCENARIOS) {
      for (const poll of scenario.polls) {
        figures.push(await pollOnce(appDir, sandbox, scenario, poll));
      }
    }
    return figures;
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
    String(figure.cacheCalls),
    `${String(figure.wallMs)} ms`,
    `${String(figure.cpuMs)} ms`,
    `${String(figure.peakRssMb)} MB (+${String(figure.addedRssMb)})`,
    `${String(figure.items)} / ${kb(figure.returnedBytes)}`,
    `${kb(figure.storedBytes)}${figure.wrote ? ' (written)' : ''}`,
    figure.verdict,
  ]);

export const POLL_HEADERS = [
  'poll',
  'requests',
  'cache calls',
  'wall',
  'CPU',
  'peak memory (+poll)',
  'returned items / size',
  'cache value',
  'budget',
] as const;

if (require.main === module) {
  const main = async (): Promise<void> => {
    if (!zipIsFresh()) {
      buildProjectZip(true);
    }
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-polls-'));
    try {
      unpackZip(await readZip(BUILD_ZIP), dir);
      const figures = await triggerPolls(dir);
      for (const row of [POLL_HEADERS, ...pollRows(figures)]) {
        console.log(row.join(' | '));
      }
      if (figures.some((figure) => figure.verdict !== 'PASS')) {
        process.exitCode = 1;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
