/**
 * `npm run build:zip`: builds build/build.zip (what Zapier runs) and build/source.zip (the source
 * Zapier keeps), offline, with zapier-platform-cli's own `build` command. With
 * `-- --provider dealai|admin` it builds that edition into build/<provider>/ instead: the same
 * staged project, whose root index.js returns editionOf(app, provider) (src/editions.ts).
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
 *   ships: ~1,850 files instead of ~440.
 *
 * So this does what the CLI's default path does, without the network: it runs the project's
 * `_zapier-build` hook (npm run build: tsc -> dist/) here, copies the project (minus node_modules,
 * VCS and build output) into a fresh folder under the OS temp dir, copies into it only the
 * packages the app loads at run time (runtimePackages in tools/project.ts: not node-fetch's
 * optional `encoding`, which only the dev tree pulls in), and runs `zapier-platform build
 * --skip-dep-install --skip-validation` there. The CLI then runs its own "Testing build" step
 * (unzips build.zip and loads it with Node 22). The temp folder sits outside the project so
 * nothing can resolve up into the project's node_modules.
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
  ROOT,
  cliEnv,
  editionArg,
  requireNode22,
  run,
  runtimePackages,
  zipPaths,
  ZAPIER_CLI,
} from '../project';
import type { EditionId } from '../project';

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
const TOOL_OUTPUT = new Set(['tools', 'test']);
const NEVER_COPIED = /\.(zip|sqlite)(-\w+)?$/;

const stageProject = (stage: string): void => {
  for (const entry of fs.readdirSync(ROOT)) {
    if (!NOT_STAGED.has(entry)) {
      fs.cpSync(path.join(ROOT, entry), path.join(stage, entry), {
        recursive: true,
        filter: (source) => !NEVER_COPIED.test(source),
      });
    }
  }
  // The app's compiled output only: npm run build:tools also writes dist/{tools,test}.
  const dist = path.join(ROOT, 'dist');
  fs.cpSync(dist, path.join(stage, 'dist'), {
    recursive: true,
    filter: (source) => !TOOL_OUTPUT.has(path.relative(dist, source).split(path.sep)[0] ?? ''),
  });
  for (const pkg of runtimePackages()) {
    const source = path.join(ROOT, pkg.location);
    if (!fs.existsSync(source)) {
      if (pkg.optional) {
        continue;
      }
      throw new Error(`${pkg.location} (${pkg.name}@${pkg.version}) is not installed; run npm ci`);
    }
    // Its nested node_modules are runtime packages of their own, or not wanted.
    const nested = path.join(source, 'node_modules');
    fs.cpSync(source, path.join(stage, pkg.location), {
      recursive: true,
      filter: (file) => file !== nested,
    });
  }
};

/**
 * The root index.js of an edition: the same compiled app, filtered for one provider by
 * editionOf (src/editions.ts). zapierwrapper.js loads it as it loads the combined one. Only an
 * edition loads dist/src/editions.js, so the combined build.zip does not carry it.
 */
const editionEntry = (edition: EditionId): string =>
  [
    `// The ${edition} edition: the integration filtered for one provider (src/editions.ts).`,
    "const app = require('./dist/index.js').default;",
    "const { editionOf } = require('./dist/src/editions.js');",
    '',
    `module.exports = editionOf(app, '${edition}');`,
    '',
  ].join('\n');

/**
 * Runs the `_zapier-build` hook (tsc) and builds build/build.zip and build/source.zip, or, for an
 * edition, build/<provider>/build.zip and build/<provider>/source.zip.
 */
export const buildProjectZip = (quiet = false, edition?: EditionId): void => {
  requireNode22();
  run('npm', ['run', '--silent', '_zapier-build'], { cwd: ROOT, quiet });
  const temp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-zip-'));
  const { dir, build, source } = zipPaths(edition);
  try {
    const stage = path.join(temp, 'app');
    stageProject(stage);
    if (edition !== undefined) {
      fs.writeFileSync(path.join(stage, 'index.js'), editionEntry(edition));
    }
    // The hook already ran here, where tsc is; the CLI skips it for this lifecycle event.
    run(process.execPath, [ZAPIER_CLI, 'build', '--skip-dep-install', '--skip-validation'], {
      cwd: stage,
      env: cliEnv({ npm_lifecycle_event: '_zapier-build' }),
      quiet,
    });
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(stage, 'build', 'build.zip'), build);
    fs.copyFileSync(path.join(stage, 'build', 'source.zip'), source);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
};

if (require.main === module) {
  try {
    const started = performance.now();
    const edition = editionArg(process.argv.slice(2));
    buildProjectZip(false, edition);
    const { build, source } = zipPaths(edition);
    const kb = (file: string): string => `${(fs.statSync(file).size / 1024).toFixed(1)} KB`;
    console.log(
      `\nbuild:zip: ${path.relative(ROOT, build)} (${kb(build)}) and ${path.relative(ROOT, source)} (${kb(source)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    console.error(`build:zip failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
