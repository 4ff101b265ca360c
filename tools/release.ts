/**
 * `npm run release [-- --provider dealai|admin] [--dry-run]`: uploads to Zapier exactly the zip
 * that the smoke test checked.
 *
 * 1. Refuses a work tree with uncommitted changes (what is uploaded must be a commit).
 * 2. Builds the zip (`npm run build:zip`, with `--provider` passed through for an edition, which
 *    writes build/<provider>/build.zip and source.zip).
 * 3. Smoke-tests that very file (`npm run test:zip -- --zip <file>`, `--provider` passed through).
 * 4. Copies it and its source.zip into a fresh staging folder, as build/build.zip and
 *    build/source.zip, with a .zapierapprc naming the Zapier app to upload to, and checks that
 *    the copy has the SHA-256 the smoke test saw.
 * 5. Runs `zapier-platform upload` there (the CLI uploads build/build.zip of its working folder).
 *    With `--dry-run` it stops just before, printing what it would upload where.
 *
 * Why not `zapier-platform push`: it rebuilds in a copy of the whole project (EMFILE on large
 * trees) and runs `npm install --production` there, which brings back node-fetch's optional
 * `encoding`, so it would upload another zip than the one `test:zip` checked (docs/release.md).
 *
 * App ids: the CLI reads the app's `id` and `key` from .zapierapprc (written by `zapier-platform
 * register` or `link`). Each edition is registered as its own Zapier app; its id and key are kept
 * in the same file, under `editions.<provider>`, so no file is added at the top of the project.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { isProviderId } from '../src/providers';
import {
  BUILD_DIR,
  BUILD_ZIP,
  ROOT,
  SOURCE_ZIP,
  ZAPIER_CLI,
  cliEnv,
  readJson,
  requireNode22,
  run,
  isRecord,
} from './project';

export interface ReleaseOptions {
  provider: string | undefined;
  dryRun: boolean;
}

/** Reads `--provider <id>` (or `--provider=<id>`) and `--dry-run`; refuses anything else. */
export const parseReleaseArgs = (args: readonly string[]): ReleaseOptions => {
  let provider: string | undefined;
  let dryRun = false;
  for (let at = 0; at < args.length; at += 1) {
    const arg = args[at] ?? '';
    if (arg === '--dry-run') {
      dryRun = true;
    } else if (arg === '--provider' || arg.startsWith('--provider=')) {
      provider = arg === '--provider' ? args[(at += 1)] : arg.slice('--provider='.length);
      if (provider === undefined || provider === '' || !isProviderId(provider)) {
        throw new Error(
          `Unknown provider ${JSON.stringify(provider ?? '')}: --provider takes dealai or admin.`,
        );
      }
    } else {
      throw new Error(`Unknown argument ${JSON.stringify(arg)}: use --provider <id> or --dry-run.`);
    }
  }
  return { provider, dryRun };
};

/** The zips `npm run build:zip` writes for the whole integration or for one edition. */
export const zipsOf = (provider: string | undefined): { build: string; source: string } =>
  provider === undefined
    ? { build: BUILD_ZIP, source: SOURCE_ZIP }
    : {
        build: path.join(BUILD_DIR, provider, 'build.zip'),
        source: path.join(BUILD_DIR, provider, 'source.zip'),
      };

export interface AppLink {
  id: number;
  key: string;
}

/**
 * The Zapier app to upload to, from .zapierapprc: its `id` and `key`, or for an edition those
 * under `editions.<provider>`. Undefined when it is not registered yet.
 */
export const appLinkOf = (
  rc: Record<string, unknown>,
  provider: string | undefined,
): AppLink | undefined => {
  const editions = rc.editions;
  const link = provider === undefined ? rc : isRecord(editions) ? editions[provider] : undefined;
  if (!isRecord(link) || typeof link.id !== 'number' || typeof link.key !== 'string') {
    return undefined;
  }
  return { id: link.id, key: link.key };
};

const sha256 = (file: string): string =>
  createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const say = (line: string): void => {
  console.log(`release: ${line}`);
};

const gitStatus = (): string => {
  const status = spawnSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' });
  if (status.status !== 0) {
    throw new Error(`git status failed: ${status.stderr}`);
  }
  return status.stdout.trim();
};

const main = (): void => {
  requireNode22();
  const { provider, dryRun } = parseReleaseArgs(process.argv.slice(2));
  const what = provider === undefined ? 'the integration' : `the ${provider} edition`;
  const dirty = gitStatus();
  if (dirty !== '') {
    throw new Error(`the work tree has uncommitted changes; commit them first:\n${dirty}`);
  }
  const passed = provider === undefined ? [] : ['--provider', provider];
  const zips = zipsOf(provider);
  const started = Date.now();

  say(`building ${what}`);
  run('npm', ['run', '--silent', 'build:zip', '--', ...passed], { cwd: ROOT });
  for (const file of [zips.build, zips.source]) {
    if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < started - 1000) {
      throw new Error(
        `npm run build:zip${passed.length === 0 ? '' : ` -- ${passed.join(' ')}`} wrote no ${path.relative(ROOT, file)}${provider === undefined ? '' : `: this version of tools/zip/build.ts builds no editions`}`,
      );
    }
  }
  const tested = sha256(zips.build);

  say(`smoke-testing ${path.relative(ROOT, zips.build)} (sha256 ${tested})`);
  run('npm', ['run', '--silent', 'test:zip', '--', '--zip', zips.build, ...passed], { cwd: ROOT });

  const rc = readJson(path.join(ROOT, '.zapierapprc'));
  const link = appLinkOf(rc, provider);
  const stage = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'whitelabel-release-'));
  try {
    fs.mkdirSync(path.join(stage, 'build'));
    const staged = path.join(stage, 'build', 'build.zip');
    fs.copyFileSync(zips.build, staged);
    fs.copyFileSync(zips.source, path.join(stage, 'build', 'source.zip'));
    if (sha256(staged) !== tested) {
      throw new Error('the staged zip is not the one the smoke test checked');
    }
    const { version } = readJson(path.join(ROOT, 'package.json'));
    const target =
      link === undefined
        ? 'no Zapier app yet'
        : `Zapier app ${String(link.id)} (${link.key}), version ${String(version)}`;
    if (link === undefined) {
      const where = provider === undefined ? '`id` and `key`' : `\`editions.${provider}\``;
      const message = `.zapierapprc names no Zapier app for ${what} (${where}); register or link it first (docs/release.md)`;
      if (!dryRun) {
        throw new Error(message);
      }
      say(`dry run: ${message}`);
    }
    fs.writeFileSync(path.join(stage, '.zapierapprc'), `${JSON.stringify(link ?? {}, null, 2)}\n`);
    if (dryRun) {
      say(
        `dry run: would run \`zapier-platform upload\` in ${stage} to ${target}, sending build/build.zip (sha256 ${tested}, the smoke-tested file) and build/source.zip; stopping before the network`,
      );
      return;
    }
    say(`uploading to ${target}`);
    run(process.execPath, [ZAPIER_CLI, 'upload'], { cwd: stage, env: cliEnv() });
    say(`uploaded ${path.relative(ROOT, zips.build)} (sha256 ${tested})`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
};

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`release failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
