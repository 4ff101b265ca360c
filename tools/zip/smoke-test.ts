/**
 * `npm run test:zip`: proves build/build.zip is deployable, using only what is inside it.
 *
 * 1. Builds build/build.zip (tools/zip/build.ts) unless it exists and is newer than every build
 *    input (package.json, package-lock.json, .zapierapprc, index.*, tsconfig*, src/**).
 * 2. Reads the zip (readZip in tools/project.ts, every entry's CRC-32 checked) and checks its
 *    file list: every file the integration needs is there, and nothing else is: only index.js,
 *    zapierwrapper.js, definition.json, package.json, dist/index.js, dist/package.json, dist/src/**
 *    and node_modules/** of the packages the app loads (runtimePackages in tools/project.ts).
 * 3. Unpacks it into a fresh folder under the OS temp dir (no node_modules above it) and runs it
 *    in a Node 22 process there (zipApp in tools/harness.ts), which loads zapierwrapper.js and
 *    calls its Lambda handler, as Zapier does, with `{command: 'definition'}`, then
 *    `authentication.test` (good key, then bad key), Add User and Find User against the local
 *    sandbox of the Administration API. It checks the answers, the number of requests each took,
 *    and that every module the process loaded came from the unpacked zip.
 *
 * 4. Runs `zapier-platform validate --without-style --skip-build` in the unpacked folder: the
 *    platform's schema check on exactly what ships.
 *
 * With `--provider dealai|admin` it checks that edition's zip (build/<provider>/build.zip, see
 * src/editions.ts) instead: the definition must be the project's app filtered by editionOf, its
 * connection must have no API Provider field, and the handler run uses a connection without one
 * (a Deal.ai edition runs the connection test, Add User and Remove User on the sandbox's Deal.ai).
 *
 * Options: `--rebuild` always rebuilds; `--zip <file>` checks that zip instead (never builds).
 * Exits 1 with the failed checks listed when anything is wrong.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import {
  SANDBOX_ADMIN_TOKEN,
  SANDBOX_DEALAI_KEY,
  SANDBOX_OWNER_EMAIL,
  startSandbox,
} from '../sandbox/server';
import type { Sandbox } from '../sandbox/server';
import { buildProjectZip } from './build';
import { zipApp } from '../harness';
import type { Bundle, ZipApp } from '../harness';
import {
  ROOT,
  ZAPIER_CLI,
  cliEnv,
  editionArg,
  isSymlink,
  listFiles,
  nodeModulesAbove,
  readJson,
  requireNode22,
  readZip,
  runtimePackages,
  run as runCommand,
  unpackZip,
  zipIsFresh,
  zipPaths,
  isRecord,
} from '../project';
import type { EditionId, RuntimePackage, ZipEntry } from '../project';

const ROOT_FILES = [
  'index.js',
  'zapierwrapper.js',
  'definition.json',
  'package.json',
  'dist/index.js',
  'dist/package.json',
];
const KINDS = ['triggers', 'searches', 'creates', 'searchOrCreates'];
/** Loaded through Node 22's require(esm); esbuild misses them (see .zapierapprc). */
const ESM_SHIMS = ['async-function', 'async-generator-function', 'generator-function'];

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];
const check = (name: string, ok: boolean, detail: string): boolean => {
  checks.push({ name, ok, detail });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  return ok;
};

/** Every action key by kind, e.g. `creates: add_user, ...; searches: find_user`. */
const actions = (app: unknown): string =>
  KINDS.map((kind) => {
    const group = isRecord(app) ? app[kind] : undefined;
    return `${kind}: ${isRecord(group) ? Object.keys(group).sort().join(', ') : ''}`;
  }).join('; ');

const list = (items: readonly string[], max = 8): string =>
  items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;

/** The filter that only an edition's entry loads (see tools/zip/build.ts). */
const EDITIONS_MODULE = path.join(ROOT, 'dist', 'src', 'editions.js');
const EDITIONS_FILE = 'dist/src/editions.js';

/** The files the integration cannot run without: every compiled src file it loads. */
const requiredFiles = (
  packages: readonly RuntimePackage[],
  edition: EditionId | undefined,
): string[] => {
  const compiled = listFiles(path.join(ROOT, 'src'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => `dist/src/${file.replace(/\.ts$/, '.js')}`)
    .filter((file) => edition !== undefined || file !== EDITIONS_FILE);
  const shims = ESM_SHIMS.filter((name) =>
    packages.some((pkg) => pkg.location === `node_modules/${name}`),
  ).map((name) => `node_modules/${name}/require.mjs`);
  return [
    ...ROOT_FILES,
    ...compiled,
    'node_modules/zapier-platform-core/package.json',
    'node_modules/zapier-platform-core/index.js',
    ...shims,
  ];
};

/** Why `name` must not be in the zip, or undefined when it may be. */
const notAllowed = (name: string, packages: readonly RuntimePackage[]): string | undefined => {
  if (ROOT_FILES.includes(name) || name.startsWith('dist/src/')) {
    return undefined;
  }
  if (name.startsWith('node_modules/')) {
    return packages.some((pkg) => name.startsWith(`${pkg.location}/`))
      ? undefined
      : 'not a package the app loads';
  }
  return 'not part of the runtime app';
};

const checkFileList = (
  entries: readonly ZipEntry[],
  packages: readonly RuntimePackage[],
  edition: EditionId | undefined,
): void => {
  const files = entries.filter((entry) => !entry.name.endsWith('/')).map((entry) => entry.name);
  const bytes = entries.reduce((sum, entry) => sum + entry.data.length, 0);
  check('zip readable', true, `${files.length} files, ${bytes} bytes unpacked, CRC-32 all good`);
  const present = new Set(files);
  const required = requiredFiles(packages, edition);
  const missing = required.filter((file) => !present.has(file));
  check(
    'required files present',
    missing.length === 0,
    missing.length === 0
      ? `${required.length} files, incl. dist/src/** for every src/**/*.ts${edition === undefined ? ' (but editions.ts, which only an edition loads)' : ''} and the require.mjs shims`
      : `missing ${list(missing)} (a src file not imported from index.ts, or includeInBuild lost?)`,
  );
  const stray = files.flatMap((file) => {
    const reason = notAllowed(file, packages);
    return reason === undefined ? [] : [`${file} (${reason})`];
  });
  check(
    'nothing else inside',
    stray.length === 0,
    stray.length === 0
      ? `only the app's files and files of the ${packages.length} packages it loads`
      : `${stray.length} unexpected: ${list(stray)}`,
  );
  const symlinks = entries.filter(isSymlink).map((entry) => entry.name);
  check('no symlinks', symlinks.length === 0, symlinks.length === 0 ? 'none' : list(symlinks));
};

/** The connection fields' keys of a definition. */
const connectionKeys = (definition: unknown): string => {
  const authentication = isRecord(definition) ? definition.authentication : undefined;
  const fields = isRecord(authentication) ? authentication.fields : undefined;
  return (Array.isArray(fields) ? fields : [])
    .map((field: unknown) => (isRecord(field) ? String(field.key) : '?'))
    .join(', ');
};

/**
 * What the zip must serve: the project's own compiled app, or for an edition that app filtered
 * by the project's compiled editionOf.
 */
const expectedDefinition = (edition: EditionId | undefined): unknown => {
  const load = createRequire(__filename);
  const compiled: unknown = load(path.join(ROOT, 'dist', 'index.js'));
  const app = isRecord(compiled) ? compiled.default : undefined;
  const editions: unknown = edition === undefined ? {} : load(EDITIONS_MODULE);
  const filter = isRecord(editions) ? editions.editionOf : undefined;
  if (edition === undefined || typeof app !== 'object' || app === null) {
    return app;
  }
  if (typeof filter !== 'function') {
    throw new Error('dist/index.js exports no editionOf');
  }
  const filtered: unknown = Reflect.apply(filter, undefined, [app, edition]);
  return filtered;
};

/** `zapier-platform validate --without-style` in the unpacked zip: the schema check, offline. */
const validateUnpacked = (appDir: string): void => {
  try {
    runCommand(process.execPath, [ZAPIER_CLI, 'validate', '--without-style', '--skip-build'], {
      cwd: appDir,
      env: cliEnv(),
      quiet: true,
    });
    check('validate', true, 'zapier-platform validate --without-style: structurally sound');
  } catch (error) {
    check('validate', false, error instanceof Error ? error.message : String(error));
  }
};

interface Run {
  value: unknown;
  error: string | undefined;
  requests: number;
  shown: string;
}

type Runner = (method: string, inputData: Bundle['inputData'], apiKey?: string) => Promise<Run>;

const runner = (app: ZipApp, sandbox: Sandbox, authData: Bundle['authData']): Runner => {
  return async (method, inputData, apiKey = authData.apiKey ?? '') => {
    sandbox.resetRequestCount();
    const result = await app.execute(method, { authData: { ...authData, apiKey }, inputData }).then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({
        value: undefined,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
    return { ...result, requests: sandbox.requestCount(), shown: JSON.stringify(result.value) };
  };
};

/** A Deal.ai edition's steps against the sandbox's Deal.ai side: connection, add, role, remove. */
const runDealai = async (app: ZipApp, sandbox: Sandbox): Promise<void> => {
  const run = runner(app, sandbox, {
    apiKey: SANDBOX_DEALAI_KEY,
    baseUrl: sandbox.dealaiBaseUrl,
  });
  // Two requests: the empty role change with the key, then with a key that cannot be valid, which
  // the API must refuse (the Base URL check, docs/api.md).
  const tested = await run('authentication.test', {});
  check(
    'authentication.test',
    isRecord(tested.value) && tested.value.provider === 'dealai' && tested.requests === 2,
    `${tested.error ?? tested.shown} after ${String(tested.requests)} request(s)`,
  );
  const refused = await run('authentication.test', {}, 'wrong-key');
  check(
    'authentication.test, bad key',
    refused.error?.includes('HTTP 40') === true && refused.requests === 1,
    refused.error?.split('\n')[0] ?? 'unexpectedly succeeded',
  );
  const added = await run('creates.add_user.operation.perform', {
    firstName: 'New',
    email: ' New.User@Example.com ',
  });
  const removed = await run('creates.remove_user.operation.perform', {
    email: 'new.user@example.com',
  });
  check(
    'creates.add_user, then creates.remove_user',
    isRecord(added.value) &&
      added.value.email === 'new.user@example.com' &&
      added.value.firstName === 'New' &&
      added.value.replayed === false &&
      !('credits' in added.value) &&
      added.requests === 1 &&
      isRecord(removed.value) &&
      removed.value.removed === true &&
      removed.requests === 1,
    `added ${added.error ?? added.shown}, then removed ${removed.error ?? removed.shown}`,
  );
};

const runHandler = async (
  app: ZipApp,
  sandbox: Sandbox,
  appDir: string,
  edition: EditionId | undefined,
): Promise<void> => {
  const { version } = readJson(path.join(ROOT, 'package.json'));
  const corePackage = readJson(
    path.join(appDir, 'node_modules', 'zapier-platform-core', 'package.json'),
  );
  // The project's own compiled app (filtered, for an edition) says what the zip must serve.
  const source = expectedDefinition(edition);
  const definition = await app.definition();
  const fileDefinition: unknown = JSON.parse(
    fs.readFileSync(path.join(appDir, 'definition.json'), 'utf8'),
  );
  const authentication = isRecord(definition) ? definition.authentication : undefined;
  check(
    'definition event',
    isRecord(definition) &&
      definition.version === version &&
      definition.platformVersion === corePackage.version &&
      actions(definition) === actions(source) &&
      isRecord(authentication) &&
      authentication.type === 'custom',
    `version ${String(isRecord(definition) ? definition.version : '?')}, platform ${String(isRecord(definition) ? definition.platformVersion : '?')}; ${actions(definition)}`,
  );
  check(
    'definition matches definition.json',
    isDeepStrictEqual(definition, fileDefinition),
    'the handler serves the definition the CLI wrote into the zip',
  );
  check(
    'connection fields',
    connectionKeys(definition) === connectionKeys(source) &&
      connectionKeys(definition).includes('provider') === (edition === undefined),
    `${connectionKeys(definition)}${edition === undefined ? '' : ` (the ${edition} edition: no API Provider field)`}`,
  );
  if (edition === 'dealai') {
    await runDealai(app, sandbox);
    await checkModules(app, appDir);
    return;
  }

  // The sandbox checks what a request must carry (the route, the bearer token, a JSON body with
  // the fields its OpenAPI document requires), so an answer proves the request was right.
  // An edition's connection has no provider: the edition implies it.
  const run = runner(app, sandbox, {
    ...(edition === undefined ? { provider: 'admin' } : {}),
    apiKey: SANDBOX_ADMIN_TOKEN,
    baseUrl: sandbox.adminBaseUrl,
  });
  const tested = await run('authentication.test', {});
  check(
    'authentication.test',
    isRecord(tested.value) && tested.value.email === SANDBOX_OWNER_EMAIL && tested.requests === 1,
    `${tested.error ?? tested.shown} after ${String(tested.requests)} request(s)`,
  );
  const refused = await run('authentication.test', {}, 'wrong-key');
  check(
    'authentication.test, bad key',
    refused.error?.includes('HTTP 403') === true && refused.requests === 1,
    refused.error?.split('\n')[0] ?? 'unexpectedly succeeded',
  );
  const added = await run('creates.add_user.operation.perform', {
    email: ' New.User@Example.com ',
    credits: '5',
  });
  const found = await run('searches.find_user.operation.perform', {
    email: 'NEW.USER@example.com',
  });
  check(
    'creates.add_user, then searches.find_user',
    isRecord(added.value) &&
      added.value.email === 'new.user@example.com' &&
      added.value.credits === 5 &&
      typeof added.value.token === 'string' &&
      added.requests === 1 &&
      isDeepStrictEqual(found.value, [{ email: 'new.user@example.com', credits: 5 }]),
    `added ${added.error ?? added.shown}, then found ${found.error ?? found.shown}`,
  );
  await checkModules(app, appDir);
};

const checkModules = async (app: ZipApp, appDir: string): Promise<void> => {
  const { files, core } = await app.modules();
  const outside = files.filter((file) => !file.startsWith(appDir + path.sep));
  check(
    'nothing loaded from outside the zip',
    files.length > 0 && outside.length === 0 && core.startsWith(appDir + path.sep),
    outside.length === 0
      ? `${files.length} modules, all from the unpacked folder; zapier-platform-core from ${path.relative(appDir, core)}`
      : `loaded from elsewhere: ${list(outside)}`,
  );
};

const main = async (): Promise<void> => {
  requireNode22();
  const args = process.argv.slice(2);
  const zipArg = args.indexOf('--zip');
  const edition = editionArg(args);
  let zipFile = zipPaths(edition).build;
  const shown = path.relative(ROOT, zipFile);
  if (zipArg >= 0) {
    zipFile = path.resolve(args[zipArg + 1] ?? '');
    console.log(`test:zip: checking ${zipFile}`);
  } else if (args.includes('--rebuild') || !zipIsFresh(edition)) {
    console.log(`test:zip: ${shown} is missing or older than its sources; building it`);
    buildProjectZip(false, edition);
  } else {
    console.log(`test:zip: ${shown} is newer than every build input; reusing it`);
  }

  const packages = runtimePackages();
  const entries = await readZip(zipFile);
  checkFileList(entries, packages, edition);

  const temp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-zip-test-'));
  const appDir = path.join(temp, 'app');
  let sandbox: Sandbox | undefined;
  let app: ZipApp | undefined;
  try {
    unpackZip(entries, appDir);
    const above = nodeModulesAbove(appDir);
    check(
      'isolated folder',
      above.length === 0,
      above.length === 0
        ? `unpacked into ${appDir}; no node_modules above it`
        : `node_modules above the unpacked folder could leak in: ${list(above)}`,
    );
    validateUnpacked(appDir);
    sandbox = await startSandbox({ port: 0, dbPath: ':memory:' });
    app = zipApp(appDir);
    await runHandler(app, sandbox, appDir, edition);
  } catch (error) {
    const stderr = app?.stderr() ?? '';
    check(
      'handler run',
      false,
      `${error instanceof Error ? error.message : String(error)}${stderr === '' ? '' : `\n${stderr}`}`,
    );
  } finally {
    await app?.close();
    await sandbox?.close();
    fs.rmSync(temp, { recursive: true, force: true });
  }

  const failed = checks.filter((item) => !item.ok);
  if (failed.length > 0) {
    console.error(
      `\ntest:zip FAILED: ${failed.length} of ${checks.length} checks: ${failed.map((item) => item.name).join('; ')}`,
    );
    process.exitCode = 1;
  } else {
    console.log(`\ntest:zip passed: ${checks.length} checks on ${path.relative(ROOT, zipFile)}`);
  }
};

main().catch((error: unknown) => {
  console.error(`test:zip FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
