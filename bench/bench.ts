/**
 * `npm run bench`: measures the deployable build (build/build.zip) against Zapier's own minimal
 * app and against plain HTTP, prints a table with PASS / OVER BUDGET per budget line, and writes
 * the same figures to bench/results/latest.json. Exits 1 when a budget is missed.
 *
 * - Cold start: a fresh Node 22 process in the unpacked zip loads zapierwrapper.js and answers
 *   the first `{command: 'definition'}` event; ours against `zapier-platform init --template
 *   minimal` built the same way (scripts/build-zip.ts, same zapier-platform-core install).
 *   Alternating runs, medians, ratio. Budget: ours / minimal <= 1.10.
 * - build.zip size against the minimal app's. Budget: at most 100 KB more.
 * - Module load: index.js -> dist/index.js loaded after zapier-platform-core, with fs, net, http,
 *   https, tls, dns and fetch traced. Budget: no file access by our modules other than require(),
 *   no network, no new timers or handles.
 * - Warm add_user: handler calls against a local admin stand-in vs plain node:http requests of
 *   the same shape from the same process, alternating batches; plus a CPU profile of the warm
 *   handler loop (node --cpu-prof) summarised by self time and origin. No budget: information.
 * - Requests per action, counted by the sandbox (sandbox/server.ts). Budget: the floor.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { STUB_API_KEY, startAdminStub } from '../scripts/admin-stub';
import { buildProjectZip, buildZipFor } from '../scripts/build-zip';
import { nodeModulesAbove, runDriverOnce, startDriver } from '../scripts/driver-client';
import type { Driver } from '../scripts/driver-client';
import {
  BUILD_ZIP,
  DRIVER,
  ROOT,
  cliEnv,
  dependencyTree,
  median,
  readJson,
  readPackageJson,
  requireNode22,
  run,
  stringField,
  zapierCli,
  zipIsFresh,
} from '../scripts/project';
import { extractZip, readZip } from '../scripts/zip-file';
import type { ColdTimings, ImportTrace, TraceCall, WarmTimings } from '../scripts/zip-driver';
import { summariseProfile } from './cpu-profile';
import type { ProfileSummary } from './cpu-profile';
import { countRequests } from './requests';
import type { RequestCount } from './requests';

const COLD_RUNS = 21;
const COLD_BUDGET = 1.1;
const SIZE_BUDGET_BYTES = 100 * 1024;
const WARM = { rounds: 21, batch: 40, warmup: 100 } as const;
const PROFILE_CALLS = 3000;
const RESULTS = path.join(ROOT, 'bench', 'results', 'latest.json');

type Verdict = 'PASS' | 'OVER BUDGET';
const verdict = (ok: boolean): Verdict => (ok ? 'PASS' : 'OVER BUDGET');

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isColdTimings = (value: unknown): value is ColdTimings =>
  isRecord(value) &&
  typeof value.bootMs === 'number' &&
  typeof value.loadedMs === 'number' &&
  typeof value.answeredMs === 'number' &&
  typeof value.creates === 'number';

const isTraceCall = (value: unknown): value is TraceCall =>
  isRecord(value) &&
  typeof value.api === 'string' &&
  typeof value.target === 'string' &&
  typeof value.caller === 'string' &&
  typeof value.viaRequire === 'boolean';

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

const isImportTrace = (value: unknown): value is ImportTrace =>
  isRecord(value) &&
  typeof value.importMs === 'number' &&
  Array.isArray(value.fs) &&
  value.fs.every(isTraceCall) &&
  Array.isArray(value.network) &&
  value.network.every(isTraceCall) &&
  isStrings(value.newResources) &&
  isStrings(value.modulesLoaded);

const isNumbers = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'number');

const isWarmTimings = (value: unknown): value is WarmTimings =>
  isRecord(value) && isNumbers(value.handlerUs) && isNumbers(value.plainUs);

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `  ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
};

const say = (text = ''): void => {
  console.log(text);
};

interface Apps {
  temp: string;
  ours: { dir: string; zip: string };
  minimal: { dir: string; zip: string };
}

/** Generates Zapier's minimal app offline and builds it exactly like ours. */
const buildMinimalApp = (temp: string): string => {
  const source = path.join(temp, 'minimal-src');
  run(
    process.execPath,
    [
      zapierCli(),
      'init',
      source,
      '--template',
      'minimal',
      '--module',
      'commonjs',
      '--language',
      'javascript',
    ],
    { cwd: temp, env: cliEnv(), quiet: true },
  );
  const wanted = readPackageJson(source).dependencies;
  const wantedCore = isRecord(wanted) ? wanted['zapier-platform-core'] : undefined;
  const installed = stringField(
    readPackageJson(path.join(ROOT, 'node_modules', 'zapier-platform-core')),
    'version',
  );
  if (wantedCore !== installed) {
    throw new Error(
      `the minimal app wants zapier-platform-core ${String(wantedCore)}, but ${installed} is installed`,
    );
  }
  // Zapier's own minimal app fails the CLI's build test on Node 22 for the same reason ours
  // would (esbuild misses the require.mjs files): give it the same includeInBuild patterns.
  const appRc = readJson(path.join(ROOT, '.zapierapprc'));
  const includeInBuild = isRecord(appRc) ? appRc.includeInBuild : undefined;
  fs.writeFileSync(
    path.join(source, '.zapierapprc'),
    `${JSON.stringify({ includeInBuild }, null, 2)}\n`,
  );
  const out = path.join(temp, 'minimal-build');
  buildZipFor({
    appDir: source,
    nodeModulesFrom: path.join(ROOT, 'node_modules'),
    packages: dependencyTree(['zapier-platform-core']),
    outDir: out,
    quiet: true,
  });
  return path.join(out, 'build.zip');
};

const prepare = (): Apps => {
  if (!zipIsFresh()) {
    say('bench: build/build.zip is missing or stale; building it (npm run build:zip)');
    buildProjectZip(true);
  }
  const temp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-bench-'));
  try {
    say(
      "bench: generating and building Zapier's minimal app (zapier-platform init --template minimal)",
    );
    const minimalZip = buildMinimalApp(temp);
    const apps: Apps = {
      temp,
      ours: { dir: path.join(temp, 'ours'), zip: BUILD_ZIP },
      minimal: { dir: path.join(temp, 'minimal'), zip: minimalZip },
    };
    for (const app of [apps.ours, apps.minimal]) {
      extractZip(readZip(app.zip), app.dir);
      const above = nodeModulesAbove(app.dir);
      if (above.length > 0) {
        throw new Error(
          `node_modules above ${app.dir} could leak into the runs: ${above.join(', ')}`,
        );
      }
    }
    return apps;
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
};

interface ColdSamples {
  answeredMs: number[];
  wallMs: number[];
  bootMs: number[];
}

interface ColdResult {
  runs: number;
  ours: ColdSamples;
  minimal: ColdSamples;
  medianOursMs: number;
  medianMinimalMs: number;
  ratio: number;
  wallRatio: number;
  budget: number;
  verdict: Verdict;
}

const coldStart = async (apps: Apps): Promise<ColdResult> => {
  const once = async (dir: string) => {
    const { result, wallMs } = await runDriverOnce(dir, ['cold']);
    if (!isColdTimings(result)) {
      throw new Error(`cold run in ${dir} printed ${JSON.stringify(result)}`);
    }
    return { ...result, wallMs };
  };
  // One unmeasured run each: file system cache and the like.
  const firstOurs = await once(apps.ours.dir);
  const firstMinimal = await once(apps.minimal.dir);
  if (firstOurs.creates !== 4 || firstMinimal.creates !== 0) {
    throw new Error(
      `unexpected definitions: ours has ${firstOurs.creates} creates, minimal ${firstMinimal.creates}`,
    );
  }
  const samples: Record<'ours' | 'minimal', ColdSamples> = {
    ours: { answeredMs: [], wallMs: [], bootMs: [] },
    minimal: { answeredMs: [], wallMs: [], bootMs: [] },
  };
  for (let index = 0; index < COLD_RUNS; index += 1) {
    const order = index % 2 === 0 ? (['ours', 'minimal'] as const) : (['minimal', 'ours'] as const);
    for (const side of order) {
      const timing = await once(apps[side].dir);
      samples[side].answeredMs.push(timing.answeredMs);
      samples[side].wallMs.push(timing.wallMs);
      samples[side].bootMs.push(timing.bootMs);
    }
  }
  const medianOursMs = median(samples.ours.answeredMs);
  const medianMinimalMs = median(samples.minimal.answeredMs);
  const ratio = medianOursMs / medianMinimalMs;
  return {
    runs: COLD_RUNS,
    ours: samples.ours,
    minimal: samples.minimal,
    medianOursMs,
    medianMinimalMs,
    ratio,
    wallRatio: median(samples.ours.wallMs) / median(samples.minimal.wallMs),
    budget: COLD_BUDGET,
    verdict: verdict(ratio <= COLD_BUDGET),
  };
};

interface SizeResult {
  oursBytes: number;
  minimalBytes: number;
  oursFiles: number;
  minimalFiles: number;
  differenceBytes: number;
  budgetBytes: number;
  verdict: Verdict;
}

const sizes = (apps: Apps): SizeResult => {
  const oursBytes = fs.statSync(apps.ours.zip).size;
  const minimalBytes = fs.statSync(apps.minimal.zip).size;
  return {
    oursBytes,
    minimalBytes,
    oursFiles: readZip(apps.ours.zip).entries.length,
    minimalFiles: readZip(apps.minimal.zip).entries.length,
    differenceBytes: oursBytes - minimalBytes,
    budgetBytes: SIZE_BUDGET_BYTES,
    verdict: verdict(oursBytes - minimalBytes <= SIZE_BUDGET_BYTES),
  };
};

interface ModuleLoadResult {
  importMs: number;
  modulesOurs: number;
  modulesOther: string[];
  fsByOurModules: TraceCall[];
  fsByRequire: number;
  fsOther: TraceCall[];
  network: TraceCall[];
  newResources: string[];
  verdict: Verdict;
}

const moduleLoad = async (apps: Apps): Promise<ModuleLoadResult> => {
  const { result } = await runDriverOnce(apps.ours.dir, ['import-trace']);
  if (!isImportTrace(result)) {
    throw new Error(`import-trace printed ${JSON.stringify(result)}`);
  }
  const app = apps.ours.dir + path.sep;
  const ours = (file: string) =>
    file.startsWith(`${app}dist${path.sep}`) || file === `${app}index.js`;
  const fsByOurModules = result.fs.filter((call) => !call.viaRequire && ours(call.caller));
  const fsByRequire = result.fs.filter((call) => call.viaRequire).length;
  const fsOther = result.fs.filter((call) => !call.viaRequire && !ours(call.caller));
  return {
    importMs: result.importMs,
    modulesOurs: result.modulesLoaded.filter(ours).length,
    modulesOther: result.modulesLoaded
      .filter((file) => !ours(file))
      .map((file) => file.slice(app.length)),
    fsByOurModules,
    fsByRequire,
    fsOther,
    network: result.network,
    newResources: result.newResources,
    verdict: verdict(
      fsByOurModules.length === 0 &&
        result.network.length === 0 &&
        result.newResources.length === 0,
    ),
  };
};

interface WarmResult {
  rounds: number;
  batch: number;
  handlerUs: number[];
  plainUs: number[];
  medianHandlerUs: number;
  medianPlainUs: number;
  ratio: number;
  overheadUs: number;
  profile: ProfileSummary & { calls: number; oursUsPerCall: number };
}

const warmCalls = async (apps: Apps, driver: Driver): Promise<WarmResult> => {
  const stub = await startAdminStub({ record: false });
  try {
    const reply = await driver.request({
      op: 'warm',
      baseUrl: stub.baseUrl,
      apiKey: STUB_API_KEY,
      ...WARM,
    });
    if (!reply.ok || !isWarmTimings(reply.value)) {
      throw new Error(`warm loop failed: ${reply.ok ? JSON.stringify(reply.value) : reply.error}`);
    }
    const { handlerUs, plainUs } = reply.value;
    const medianHandlerUs = median(handlerUs);
    const medianPlainUs = median(plainUs);

    const profileDir = path.join(apps.temp, 'profile');
    const { result } = await runDriverOnce(
      apps.ours.dir,
      ['profile', stub.baseUrl, STUB_API_KEY, String(PROFILE_CALLS)],
      ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '100'],
    );
    const window = isRecord(result) ? result : {};
    const startUs = typeof window.startUs === 'number' ? window.startUs : 0;
    const endUs = typeof window.endUs === 'number' ? window.endUs : 0;
    const [profileFile] = fs.readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
    if (profileFile === undefined) {
      throw new Error('node --cpu-prof wrote no profile');
    }
    const summary = summariseProfile(path.join(profileDir, profileFile), apps.ours.dir, DRIVER, {
      startUs,
      endUs,
    });
    const oursMs = summary.byOrigin.find((entry) => entry.origin === 'ours')?.selfMs ?? 0;
    return {
      rounds: WARM.rounds,
      batch: WARM.batch,
      handlerUs,
      plainUs,
      medianHandlerUs,
      medianPlainUs,
      ratio: medianHandlerUs / medianPlainUs,
      overheadUs: medianHandlerUs - medianPlainUs,
      profile: { ...summary, calls: PROFILE_CALLS, oursUsPerCall: (oursMs * 1000) / PROFILE_CALLS },
    };
  } finally {
    await stub.close();
  }
};

const printCold = (cold: ColdResult): void => {
  say(
    `\nCold start: fresh Node ${process.version} process in the unpacked zip -> first {command: 'definition'} answered`,
  );
  say(`(ms since process start, ${cold.runs} alternating runs each; wall = spawn to exit)`);
  const row = (name: string, side: ColdSamples) => [
    name,
    median(side.answeredMs).toFixed(1),
    `${Math.min(...side.answeredMs).toFixed(1)}..${Math.max(...side.answeredMs).toFixed(1)}`,
    median(side.bootMs).toFixed(1),
    median(side.wallMs).toFixed(1),
  ];
  say(
    table(
      ['app', 'median ms', 'min..max', 'node boot ms', 'wall ms'],
      [row('ours (build/build.zip)', cold.ours), row('zapier minimal', cold.minimal)],
    ),
  );
  say(
    `  ratio ours/minimal ${cold.ratio.toFixed(3)} (wall ${cold.wallRatio.toFixed(3)})   budget <= ${cold.budget.toFixed(2)}   ${cold.verdict}`,
  );
};

const printSize = (size: SizeResult): void => {
  say('\nbuild.zip size');
  say(
    table(
      ['app', 'bytes', 'size', 'files'],
      [
        ['ours', String(size.oursBytes), kb(size.oursBytes), String(size.oursFiles)],
        [
          'zapier minimal',
          String(size.minimalBytes),
          kb(size.minimalBytes),
          String(size.minimalFiles),
        ],
      ],
    ),
  );
  say(
    `  difference ${size.differenceBytes >= 0 ? '+' : ''}${kb(size.differenceBytes)}   budget <= +${kb(size.budgetBytes)}   ${size.verdict}`,
  );
};

const printModuleLoad = (load: ModuleLoadResult): void => {
  say('\nModule load: index.js -> dist/index.js, after zapier-platform-core is loaded');
  say(
    table(
      ['measure', 'value'],
      [
        ['import time', `${load.importMs.toFixed(1)} ms`],
        ['modules loaded (ours)', String(load.modulesOurs)],
        [
          'modules loaded (other)',
          load.modulesOther.length === 0 ? '0' : load.modulesOther.join(', '),
        ],
        ['fs reads by require() itself', String(load.fsByRequire)],
        ['fs calls by our modules', String(load.fsByOurModules.length)],
        ['fs calls by other code', String(load.fsOther.length)],
        ['network calls', String(load.network.length)],
        ['new timers/handles', load.newResources.length === 0 ? '0' : load.newResources.join(', ')],
      ],
    ),
  );
  for (const call of [...load.fsByOurModules, ...load.fsOther, ...load.network]) {
    say(`    ${call.api} ${call.target} from ${call.caller}`);
  }
  say(`  no file access beyond require(), no network, no handles   ${load.verdict}`);
};

const printWarm = (warm: WarmResult): void => {
  say(
    `\nWarm add_user (admin API, local stand-in): ${warm.rounds} alternating rounds of ${warm.batch} calls each side`,
  );
  say(
    table(
      ['side', 'median us/call', 'min..max us/call'],
      [
        [
          'through the handler',
          warm.medianHandlerUs.toFixed(0),
          `${Math.min(...warm.handlerUs).toFixed(0)}..${Math.max(...warm.handlerUs).toFixed(0)}`,
        ],
        [
          'plain node:http request',
          warm.medianPlainUs.toFixed(0),
          `${Math.min(...warm.plainUs).toFixed(0)}..${Math.max(...warm.plainUs).toFixed(0)}`,
        ],
      ],
    ),
  );
  say(
    `  ratio ${warm.ratio.toFixed(2)}, handler overhead ${warm.overheadUs.toFixed(0)} us/call (information; no budget)`,
  );
  const { profile } = warm;
  say(
    `\n  CPU profile of ${profile.calls} warm handler calls (node --cpu-prof, 100 us sampling${profile.windowed ? ', loop only' : ', whole process'}): ${profile.busyMs.toFixed(0)} ms busy, ${profile.idleMs.toFixed(0)} ms idle (waiting on the server)`,
  );
  const pct = (ms: number) => `${((100 * ms) / profile.busyMs).toFixed(1)}%`;
  say(
    table(
      ['origin', 'self ms', 'share', 'us/call'],
      profile.byOrigin.map((entry) => [
        entry.origin,
        entry.selfMs.toFixed(1),
        pct(entry.selfMs),
        ((entry.selfMs * 1000) / profile.calls).toFixed(1),
      ]),
    ),
  );
  say('\n  Our files and zapier-platform-core dependencies by self time');
  say(
    table(
      ['origin', 'file or package', 'self ms', 'share'],
      profile.byFile
        .filter((entry) => entry.origin !== 'zapier-platform-core')
        .slice(0, 10)
        .map((entry) => [entry.origin, entry.file, entry.selfMs.toFixed(1), pct(entry.selfMs)]),
    ),
  );
  say(
    '\n  Heaviest steps of an invocation: our and zapier-platform-core functions, inclusive time',
  );
  say(
    table(
      ['function', 'origin', 'where', 'incl. ms', 'share', 'us/call'],
      profile.heaviest.map((entry) => [
        entry.name,
        entry.origin,
        entry.location,
        entry.selfMs.toFixed(1),
        pct(entry.selfMs),
        ((entry.selfMs * 1000) / profile.calls).toFixed(0),
      ]),
    ),
  );
  say('\n  Top functions by self time');
  say(
    table(
      ['function', 'origin', 'where', 'self ms', 'share'],
      profile.top.map((entry) => [
        entry.name,
        entry.origin,
        entry.location,
        entry.selfMs.toFixed(1),
        pct(entry.selfMs),
      ]),
    ),
  );
};

const printRequests = (counts: readonly RequestCount[]): void => {
  say(
    '\nRequests per action, counted by the sandbox (sandbox/server.ts), through the built handler',
  );
  say(
    table(
      ['action', 'outcome', 'provider', 'requests', 'floor', 'answered', 'budget'],
      counts.map((count) => [
        count.action,
        count.outcome,
        count.provider,
        String(count.requests),
        String(count.floor),
        count.answered ? 'as expected' : 'UNEXPECTED',
        verdict(count.requests <= count.floor && count.answered),
      ]),
    ),
  );
  for (const count of counts.filter((item) => !item.answered)) {
    say(`    ${count.action} (${count.outcome}, ${count.provider}): ${count.detail}`);
  }
};

const main = async (): Promise<void> => {
  requireNode22();
  const started = performance.now();
  const apps = prepare();
  let driver: Driver | undefined;
  try {
    const size = sizes(apps);
    const cold = await coldStart(apps);
    const load = await moduleLoad(apps);
    driver = startDriver(apps.ours.dir);
    const warm = await warmCalls(apps, driver);
    const counts = await countRequests(driver);

    say(`\nBenchmark of build/build.zip, Node ${process.version}, ${os.cpus().length} CPUs`);
    printCold(cold);
    printSize(size);
    printModuleLoad(load);
    printWarm(warm);
    printRequests(counts);

    const budgets = [
      { line: 'cold start ratio', verdict: cold.verdict },
      { line: 'build.zip size', verdict: size.verdict },
      { line: 'module load', verdict: load.verdict },
      ...counts.map((count) => ({
        line: `requests: ${count.action} (${count.outcome}, ${count.provider})`,
        verdict: verdict(count.requests <= count.floor && count.answered),
      })),
    ];
    const over = budgets.filter((budget) => budget.verdict !== 'PASS');
    const seconds = (performance.now() - started) / 1000;
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(
      RESULTS,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cpus: os.cpus().length,
          seconds: round(seconds),
          coldStart: cold,
          size,
          moduleLoad: load,
          warm,
          requests: counts,
          budgets,
        },
        null,
        2,
      )}\n`,
    );
    say(
      `\n${over.length === 0 ? 'All budgets PASS' : `OVER BUDGET: ${over.map((budget) => budget.line).join('; ')}`} (${seconds.toFixed(0)} s). Figures in ${path.relative(ROOT, RESULTS)}.`,
    );
    if (over.length > 0) {
      process.exitCode = 1;
    }
  } finally {
    await driver?.close();
    fs.rmSync(apps.temp, { recursive: true, force: true });
  }
};

main().catch((error: unknown) => {
  console.error(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
