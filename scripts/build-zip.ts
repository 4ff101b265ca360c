/**
 * `npm run build:zip`: builds build/build.zip (what Zapier runs) and build/source.zip (the source
 * Zapier keeps), offline, with zapier-platform-cli's own `build` command.
 *
 * Why not plain `zapier-platform build` in the project folder:
 * - Without --skip-validation the CLI posts the definition to Zapier's servers (unreachable here).
 *   --skip-validation is a hidden flag of `build` (oclif/commands/build.js) that skips both the
 *   local schema check and the remote one; `npm run validate` runs the local schema check instead.
 * - Without --skip-dep-install the CLI copies the whole project, node_modules included, into a
 *   temp folder (EMFILE on this machine) and runs `npm install --production` there (network).
 * - With --skip-dep-install it builds in place, and then build.zip is wrong: besides the files
 *   esbuild finds from zapierwrapper.js and index.js, the CLI adds every file matching its preset
 *   pattern `/package\.json$` anywhere under the project (utils/build.js, walkDirWithPatterns),
 *   so the package.json of every dev tool (jest, typescript, eslint, zapier-platform-cli, ...)
 *   ships: ~1,850 files instead of ~470.
 *
 * So this does what the CLI's default path does, without the network: it runs the project's
 * `_zapier-build` hook (npm run build: tsc -> dist/) here, copies the project (minus node_modules,
 * VCS and build output) into a fresh folder under the OS temp dir, copies into it only the runtime
 * packages that `npm ci --omit=dev` would install (per package-lock.json, from our node_modules),
 * and runs `zapier-platform build --skip-dep-install --skip-validation` there. The CLI then runs
 * its own "Testing build" step (unzips build.zip and loads it with Node 22). The temp folder sits
 * outside the project so nothing can resolve up into the project's node_modules.
 *
 * The CLI skips the `_zapier-build` hook when npm_lifecycle_event is `_zapier-build` (its guard
 * against recursion); we set that because the hook already ran here, where tsc and the type
 * definitions are, and the staged copy has neither.
 *
 * zapier-platform-cli 19.1.0 on Node 22: esbuild does not see that async-function,
 * async-generator-function and generator-function load their require.mjs, so the CLI's build test
 * fails with a missing module (Zapier's own minimal app too). .zapierapprc's `includeInBuild`
 * pattern adds those three files; without it this build fails at the CLI's "Testing build" step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  BIN_DIR,
  BUILD_DIR,
  BUILD_ZIP,
  ROOT,
  SOURCE_ZIP,
  cliEnv,
  requireNode22,
  run,
  runtimePackages,
  zapierCli,
} from './project';
import type { RuntimePackage } from './project';

/** Top-level names never copied into the staging folder. */
const NOT_STAGED = new Set([
  '.git',
  'node_modules',
  'build',
  'dist',
  '.tmp',
  'coverage',
  'zapierwrapper.js',
  'definition.json',
]);
/** dist/ folders written by `npm run build:tools`, not by the app's build. */
const TOOL_OUTPUT = new Set(['sandbox', 'scripts', 'bench', 'test']);
const NEVER_COPIED = /\.(zip|sqlite)(-\w+)?$/;

export interface ZipBuildOptions {
  /** The integration to build. */
  appDir: string;
  /** The node_modules folder the runtime packages are copied from. */
  nodeModulesFrom: string;
  packages: readonly RuntimePackage[];
  /** Receives build.zip and source.zip. */
  outDir: string;
  /** Hide the CLI's progress output (the bench); errors still carry it. */
  quiet?: boolean;
}

export interface ZipBuildResult {
  buildZip: string;
  sourceZip: string;
  seconds: number;
}

const copyProject = (appDir: string, stage: string): void => {
  for (const entry of fs.readdirSync(appDir, { withFileTypes: true })) {
    if (NOT_STAGED.has(entry.name)) {
      continue;
    }
    fs.cpSync(path.join(appDir, entry.name), path.join(stage, entry.name), {
      recursive: true,
      filter: (source) => !NEVER_COPIED.test(source),
    });
  }
  const dist = path.join(appDir, 'dist');
  if (fs.existsSync(dist)) {
    const distRoot = dist + path.sep;
    fs.cpSync(dist, path.join(stage, 'dist'), {
      recursive: true,
      filter: (source) => {
        const top = source.startsWith(distRoot)
          ? source.slice(distRoot.length).split(path.sep)[0]
          : '';
        return !TOOL_OUTPUT.has(top ?? '');
      },
    });
  }
};

/** Copies each runtime package folder, but not its nested node_modules (listed on their own). */
const copyPackages = (from: string, stage: string, packages: readonly RuntimePackage[]): number => {
  const projectDir = path.dirname(from);
  let copied = 0;
  for (const pkg of packages) {
    const source = path.join(projectDir, pkg.location);
    if (!fs.existsSync(source)) {
      if (pkg.optional) {
        continue;
      }
      throw new Error(`${pkg.location} (${pkg.name}@${pkg.version}) is not installed; run npm ci`);
    }
    const nested = path.join(source, 'node_modules');
    fs.cpSync(source, path.join(stage, pkg.location), {
      recursive: true,
      filter: (file) => file !== nested,
    });
    copied += 1;
  }
  return copied;
};

/** Stages `appDir` with its runtime packages in a temp folder and runs the CLI's build there. */
export const buildZipFor = (options: ZipBuildOptions): ZipBuildResult => {
  requireNode22();
  const started = performance.now();
  const temp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-zip-'));
  try {
    const stage = path.join(temp, 'app');
    fs.mkdirSync(stage);
    copyProject(options.appDir, stage);
    copyPackages(options.nodeModulesFrom, stage, options.packages);
    run(process.execPath, [zapierCli(), 'build', '--skip-dep-install', '--skip-validation'], {
      cwd: stage,
      env: cliEnv({ npm_lifecycle_event: '_zapier-build' }),
      quiet: options.quiet ?? false,
    });
    fs.mkdirSync(options.outDir, { recursive: true });
    const buildZip = path.join(options.outDir, 'build.zip');
    const sourceZip = path.join(options.outDir, 'source.zip');
    fs.copyFileSync(path.join(stage, 'build', 'build.zip'), buildZip);
    fs.copyFileSync(path.join(stage, 'build', 'source.zip'), sourceZip);
    return { buildZip, sourceZip, seconds: (performance.now() - started) / 1000 };
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
};

/** Runs the project's `_zapier-build` hook (tsc) and builds build/build.zip and build/source.zip. */
export const buildProjectZip = (quiet = false): ZipBuildResult => {
  requireNode22();
  const started = performance.now();
  run('npm', ['run', '--silent', '_zapier-build'], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ''}` },
    quiet,
  });
  const result = buildZipFor({
    appDir: ROOT,
    nodeModulesFrom: path.join(ROOT, 'node_modules'),
    packages: runtimePackages(ROOT),
    outDir: BUILD_DIR,
    quiet,
  });
  return { ...result, seconds: (performance.now() - started) / 1000 };
};

const main = (): void => {
  const result = buildProjectZip();
  const kb = (file: string): string => `${(fs.statSync(file).size / 1024).toFixed(1)} KB`;
  console.log(
    `\nbuild:zip: ${path.relative(ROOT, BUILD_ZIP)} (${kb(BUILD_ZIP)}) and ${path.relative(ROOT, SOURCE_ZIP)} (${kb(SOURCE_ZIP)}) in ${result.seconds.toFixed(1)} s`,
  );
};

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`build:zip failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
