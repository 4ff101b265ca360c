/**
 * Facts about this project shared by the build, the smoke test and the bench: where it is, which
 * installed packages the app needs at run time, zip reading, and a child-process environment that
 * cannot leak the project's own node_modules into a process meant to run from an unpacked zip.
 *
 * Compiled by `npm run build:tools` to dist/tools/project.js, where the project root is two levels
 * up; one level up when Jest loads this source from tools/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';

import yauzl from 'yauzl';

export const ROOT =
  path.basename(path.dirname(__dirname)) === 'dist'
    ? path.resolve(__dirname, '..', '..')
    : path.resolve(__dirname, '..');
export const BUILD_DIR = path.join(ROOT, 'build');
export const BUILD_ZIP = path.join(BUILD_DIR, 'build.zip');
export const SOURCE_ZIP = path.join(BUILD_DIR, 'source.zip');

/** The providers an edition can be built for (src/editions.ts); none: the combined integration. */
const EDITION_IDS = ['dealai', 'admin'] as const;
export type EditionId = (typeof EDITION_IDS)[number];

/** Where a build goes: build/ for the combined integration, build/<provider>/ for an edition. */
export const zipPaths = (edition?: EditionId): { dir: string; build: string; source: string } => {
  const dir = edition === undefined ? BUILD_DIR : path.join(BUILD_DIR, edition);
  return { dir, build: path.join(dir, 'build.zip'), source: path.join(dir, 'source.zip') };
};

/**
 * The `--provider dealai|admin` of a command line: the edition to build or check, `undefined`
 * for the combined integration. Throws on a provider it does not know.
 */
export const editionArg = (args: readonly string[]): EditionId | undefined => {
  const at = args.indexOf('--provider');
  if (at < 0) {
    return undefined;
  }
  const value = args[at + 1];
  const edition = EDITION_IDS.find((id) => id === value);
  if (edition === undefined) {
    throw new Error(`--provider takes ${EDITION_IDS.join(' or ')}, not ${String(value)}`);
  }
  return edition;
};

/** Zapier runs integrations on Node 22; so must everything that builds or measures them. */
export const requireNode22 = (): void => {
  if (!process.version.startsWith('v22.')) {
    throw new Error(
      `This needs Node 22 (Zapier's runtime) but runs on ${process.version}. Run it through npm (npm run ...), which puts node_modules/.bin/node (Node 22) first on PATH.`,
    );
  }
};

/** A plain object (not null, not an array), read as a record of unknown values. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const readJson = (file: string): Record<string, unknown> => {
  const data: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isRecord(data)) {
    throw new Error(`${file} is not a JSON object`);
  }
  return data;
};

export interface RuntimePackage {
  /** Its folder relative to the project, as in package-lock.json: node_modules/a/node_modules/b */
  location: string;
  name: string;
  version: string;
  /** Only reachable through optional dependencies: may be absent without harm. */
  optional: boolean;
}

const keys = (value: unknown): string[] => (isRecord(value) ? Object.keys(value) : []);

/**
 * The packages the app loads at run time: package.json's dependencies and theirs, resolved through
 * package-lock.json as Node resolves them (the requiring package's own node_modules first, then
 * outwards). Optional peer dependencies are not followed, since npm installs one only when
 * something else needs it. Here only dev tools need node-fetch's optional peer `encoding` (with
 * iconv-lite's code-page tables, about 180 KB zipped), so the lockfile lists it as optional rather
 * than dev and `npm ci --omit=dev` would install it, yet zapier-platform-core never calls the one
 * node-fetch method that uses it (textConverted). The result is the tree that Zapier's minimal app
 * gets from the registry, which the bench compares.
 */
export const runtimePackages = (root: string = ROOT): RuntimePackage[] => {
  const lock = readJson(path.join(root, 'package-lock.json'));
  const entries = isRecord(lock.packages) ? lock.packages : {};
  const entry = (location: string): Record<string, unknown> => {
    const found = entries[location];
    return isRecord(found) ? found : {};
  };
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (candidate in entries) {
        return candidate;
      }
      if (base === '') {
        return undefined;
      }
    }
  };
  const found = new Map<string, RuntimePackage>();
  const visit = (from: string, name: string, optional: boolean): void => {
    const location = resolve(from, name);
    if (location === undefined) {
      if (optional) {
        return;
      }
      throw new Error(`${name} (needed by ${from || 'the project'}) is not in package-lock.json`);
    }
    if (found.has(location)) {
      return;
    }
    const { version, dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta } =
      entry(location);
    found.set(location, { location, name, version: String(version), optional });
    keys(dependencies).forEach((dep) => {
      visit(location, dep, false);
    });
    keys(optionalDependencies).forEach((dep) => {
      visit(location, dep, true);
    });
    const peerMeta = isRecord(peerDependenciesMeta) ? peerDependenciesMeta : {};
    keys(peerDependencies).forEach((dep) => {
      const meta = peerMeta[dep];
      if (!(isRecord(meta) && meta.optional === true)) {
        visit(location, dep, false);
      }
    });
  };
  keys(entry('').dependencies).forEach((name) => {
    visit('', name, false);
  });
  return [...found.values()].sort((a, b) => a.location.localeCompare(b.location));
};

/**
 * The environment for a child process that must see only what is inside an unpacked build.zip:
 * no NODE_PATH (extra module folders), no NODE_OPTIONS (could --require project files), no
 * NODE_ENV (zapier-platform-core behaves differently when it starts with "test"), and none of the
 * npm_* variables `npm run` adds (Lambda has none; zapier-platform-core scans process.env for
 * secrets on every log line).
 */
export const isolatedEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !key.toLowerCase().startsWith('npm_') &&
      !['NODE_PATH', 'NODE_OPTIONS', 'NODE_ENV'].includes(key)
    ) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
};

/** Environment for the zapier-platform CLI and npm: no analytics or update check, Node 22 first. */
export const cliEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...isolatedEnv(extra),
  DISABLE_ZAPIER_ANALYTICS: '1',
  NO_UPDATE_NOTIFIER: '1',
  PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
});

/** Runs a command to completion; throws with the command (and its output when quiet) on failure. */
export const run = (
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; quiet?: boolean },
): void => {
  const quiet = options.quiet === true;
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error(
      `\`${[path.basename(command), ...args].join(' ')}\` in ${options.cwd} exited with ${String(result.status ?? result.signal)}${quiet ? `\n${result.stdout}${result.stderr}` : ''}`,
    );
  }
};

/** The zapier-platform CLI's entry: run it with this Node (22), not whatever its shebang finds. */
export const ZAPIER_CLI = path.join(ROOT, 'node_modules/zapier-platform-cli/src/bin/run');

/** Every file under `dir`, as relative paths with `/`. */
export const listFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) =>
      path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'),
    )
    .sort();

/** Folders above `dir` with a node_modules that Node's resolution could climb into. */
export const nodeModulesAbove = (dir: string): string[] => {
  const found: string[] = [];
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    if (fs.existsSync(path.join(current, 'node_modules'))) {
      found.push(path.join(current, 'node_modules'));
    }
    if (path.dirname(current) === current) {
      return found;
    }
  }
};

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Unix mode bits, 0 when the zip was not made on Unix. */
  mode: number;
}

const UNIX = 3;
const FILE_TYPE = 0o170000;
const SYMLINK = 0o120000;

/**
 * Every entry of a zip with its content. yauzl refuses unsafe names (absolute, `..`) and checks
 * each entry's size; it leaves the CRC-32 to its callers, so it is checked here.
 */
export const readZip = async (file: string): Promise<ZipEntry[]> => {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const entries: ZipEntry[] = [];
  for await (const entry of zip.eachEntry()) {
    const data = await buffer(await zip.openReadStreamPromise(entry));
    if (zlib.crc32(data) !== entry.crc32) {
      throw new Error(`${file}: ${entry.fileName} fails its CRC-32 check`);
    }
    const unix = entry.versionMadeBy >> 8 === UNIX;
    entries.push({
      name: entry.fileName,
      data,
      mode: unix ? entry.externalFileAttributes >>> 16 : 0,
    });
  }
  return entries;
};

export const isSymlink = (entry: ZipEntry): boolean => (entry.mode & FILE_TYPE) === SYMLINK;

/** Writes the entries under `dir`, refusing symlinks: npm installs none that belong in a build. */
export const unpackZip = (entries: readonly ZipEntry[], dir: string): void => {
  for (const entry of entries) {
    const target = path.join(dir, entry.name);
    if (isSymlink(entry)) {
      throw new Error(`zip entry "${entry.name}" is a symlink`);
    }
    if (entry.name.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, entry.data, { mode: entry.mode & 0o777 || 0o644 });
    }
  }
};

/** True when build.zip and source.zip exist and are newer than every input of the build. */
export const zipIsFresh = (edition?: EditionId): boolean => {
  const { build, source } = zipPaths(edition);
  const zips = [build, source];
  if (!zips.every((zip) => fs.existsSync(zip))) {
    return false;
  }
  const built = Math.min(...zips.map((zip) => fs.statSync(zip).mtimeMs));
  const inputs = [
    'package.json',
    'package-lock.json',
    '.zapierapprc',
    'index.js',
    'index.ts',
    'tsconfig.json',
    'tsconfig.build.json',
    ...listFiles(path.join(ROOT, 'src')).map((file) => `src/${file}`),
  ].map((file) => path.join(ROOT, file));
  return inputs.every((file) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < built);
};
