/**
 * Facts about this project shared by the build, the smoke test and the bench: where it is, which
 * installed packages are runtime dependencies, and a child-process environment that cannot leak
 * the project's own node_modules into a process that is meant to run from an unpacked build.zip.
 *
 * Compiled by `npm run build:tools` to dist/scripts/project.js; the project root is two levels up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';

import yauzl from 'yauzl';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BUILD_DIR = path.join(ROOT, 'build');
export const BUILD_ZIP = path.join(BUILD_DIR, 'build.zip');
export const SOURCE_ZIP = path.join(BUILD_DIR, 'source.zip');
export const BIN_DIR = path.join(ROOT, 'node_modules', '.bin');

/** Zapier runs integrations on Node 22; so must everything that builds or measures them. */
export const requireNode22 = (): void => {
  if (!process.version.startsWith('v22.')) {
    throw new Error(
      `This needs Node 22 (Zapier's runtime) but runs on ${process.version}. Run it through npm (npm run ...), which puts node_modules/.bin/node (Node 22) first on PATH.`,
    );
  }
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

export const readPackageJson = (dir: string): Record<string, unknown> => {
  const data = readJson(path.join(dir, 'package.json'));
  if (!isRecord(data)) {
    throw new Error(`${path.join(dir, 'package.json')} is not a JSON object`);
  }
  return data;
};

export const stringField = (record: Record<string, unknown>, key: string): string => {
  const value = record[key];
  if (typeof value !== 'string') {
    throw new Error(`Expected a string "${key}", got ${JSON.stringify(value)}`);
  }
  return value;
};

const lockPackages = (root: string): Record<string, unknown> => {
  const lock = readJson(path.join(root, 'package-lock.json'));
  const packages = isRecord(lock) ? lock.packages : undefined;
  if (!isRecord(packages)) {
    throw new Error('package-lock.json has no "packages" map (lockfile version 2 or 3 expected)');
  }
  return packages;
};

export interface RuntimePackage {
  /** Its folder relative to the project, as in package-lock.json: node_modules/a/node_modules/b */
  location: string;
  name: string;
  version: string;
  /** Only reachable through optional dependencies: may be absent without harm. */
  optional: boolean;
}

/**
 * The packages `npm ci --omit=dev` installs, read from package-lock.json (lockfile v2/v3): every
 * package not flagged `dev`. This is the runtime tree Zapier's own `zapier-platform build` installs
 * (`npm install --production`) when it is not given --skip-dep-install.
 */
export const runtimePackages = (root: string = ROOT): RuntimePackage[] => {
  const packages = lockPackages(root);
  const result: RuntimePackage[] = [];
  for (const [location, entry] of Object.entries(packages)) {
    if (location === '' || !isRecord(entry) || entry.dev === true || entry.link === true) {
      continue;
    }
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const version = typeof entry.version === 'string' ? entry.version : '';
    const optional = entry.optional === true || entry.devOptional === true;
    result.push({ location, name, version, optional });
  }
  return result.sort((a, b) => a.location.localeCompare(b.location));
};

const dependencyNames = (entry: unknown): { name: string; optional: boolean }[] => {
  if (!isRecord(entry)) {
    return [];
  }
  const names = (key: string, optional: boolean) =>
    Object.keys(isRecord(entry[key]) ? entry[key] : {}).map((name) => ({ name, optional }));
  return [
    ...names('dependencies', false),
    ...names('optionalDependencies', true),
    ...names('peerDependencies', true),
  ];
};

/**
 * The installed packages that `names` (dependencies of the project root) need at run time,
 * resolved through package-lock.json the way Node resolves them: from the requiring package's
 * own node_modules outwards. For the bench, where Zapier's minimal app gets zapier-platform-core's
 * tree and nothing else.
 */
export const dependencyTree = (names: readonly string[], root: string = ROOT): RuntimePackage[] => {
  const packages = runtimePackages(root);
  const byLocation = new Map(packages.map((pkg) => [pkg.location, pkg]));
  const entries = lockPackages(root);
  const resolve = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (byLocation.has(candidate)) {
        return candidate;
      }
      if (base === '') {
        return undefined;
      }
      const at = base.lastIndexOf('/node_modules/');
      base = at < 0 ? '' : base.slice(0, at);
    }
  };
  const found = new Set<string>();
  const queue = names.map((name) => ({ from: '', name, optional: false }));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const location = resolve(next.from, next.name);
    if (location === undefined) {
      if (next.optional) {
        continue;
      }
      throw new Error(
        `${next.name} (needed by ${next.from || 'the project'}) is not in the lockfile`,
      );
    }
    if (found.has(location)) {
      continue;
    }
    found.add(location);
    for (const dep of dependencyNames(entries[location])) {
      queue.push({ from: location, ...dep });
    }
  }
  return packages.filter((pkg) => found.has(pkg.location));
};

/** Packages that are project tooling and must never ship in build.zip, named for clear failures. */
export const DEV_TOOLING = [
  'jest',
  'typescript',
  'eslint',
  'nock',
  'zapier-platform-cli',
  'fastify',
  'node',
  'prettier',
  'ts-jest',
  'esbuild',
] as const;

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

/** Environment for the zapier-platform CLI: no analytics, no update check, Node 22 first. */
export const cliEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...isolatedEnv(extra),
  DISABLE_ZAPIER_ANALYTICS: '1',
  NO_UPDATE_NOTIFIER: '1',
  PATH: `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ''}`,
});

/** The zapier-platform CLI entry, run with this Node (22) rather than a shebang's `node`. */
export const zapierCli = (): string => {
  const cliDir = path.join(ROOT, 'node_modules', 'zapier-platform-cli');
  const entry = path.join(cliDir, 'src', 'bin', 'run');
  if (!fs.existsSync(entry)) {
    throw new Error(`zapier-platform-cli is not installed (${entry} is missing); run npm ci`);
  }
  return entry;
};

/** Runs a command to completion with inherited output; throws with the command on failure. */
export const run = (
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; quiet?: boolean },
): string => {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.quiet === true ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    throw result.error;
  }
  if (result.status !== 0) {
    const output = options.quiet === true ? `\n${result.stdout}${result.stderr}` : '';
    throw new Error(
      `\`${[path.basename(command), ...args].join(' ')}\` in ${options.cwd} exited with ${String(result.status ?? result.signal)}${output}`,
    );
  }
  return typeof result.stdout === 'string' ? result.stdout : '';
};

/** Every file under `dir` (relative paths with /), skipping folders named in `skip`. */
export const listFiles = (dir: string, skip: ReadonlySet<string> = new Set()): string[] => {
  const out: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!skip.has(entry.name)) {
          walk(rel);
        }
      } else {
        out.push(rel);
      }
    }
  };
  walk('');
  return out.sort();
};

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

/** The files whose change makes build/build.zip stale. */
export const buildInputs = (root: string = ROOT): string[] => {
  const top = [
    'package.json',
    'package-lock.json',
    '.zapierapprc',
    'index.js',
    'index.ts',
    'tsconfig.json',
    'tsconfig.build.json',
  ].map((name) => path.join(root, name));
  const sources = listFiles(path.join(root, 'src')).map((rel) => path.join(root, 'src', rel));
  return [...top, ...sources].filter((file) => fs.existsSync(file));
};

/** True when build/build.zip and build/source.zip exist and are newer than every build input. */
export const zipIsFresh = (root: string = ROOT): boolean => {
  const zips = [path.join(root, 'build', 'build.zip'), path.join(root, 'build', 'source.zip')];
  if (!zips.every((zip) => fs.existsSync(zip))) {
    return false;
  }
  const built = Math.min(...zips.map((zip) => fs.statSync(zip).mtimeMs));
  return buildInputs(root).every((file) => fs.statSync(file).mtimeMs < built);
};

export const median = (values: readonly number[]): number => {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
};
