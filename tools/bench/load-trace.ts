/**
 * Run by the bench in a fresh Node 22 process whose working directory is an unpacked build.zip.
 * Loads zapier-platform-core first, as zapierwrapper.js does, then loads the app (index.js ->
 * dist/) while recording every file-system and network call and every new handle, and prints what
 * it saw as one JSON line (a LoadTrace). A file call counts as the app's own when the first frame
 * outside Node is the app's and require() is not on the way to it: require() reading the app's
 * files is how any module loads.
 */
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

interface TracedCall {
  api: string;
  caller: string;
  viaRequire: boolean;
}

export interface LoadTrace {
  importMs: number;
  ourModules: number;
  /** Calls as `api from file:line`, modules and handles by name: each list should be empty. */
  otherModules: string[];
  fsByOurs: string[];
  fsByOthers: string[];
  network: string[];
  newResources: string[];
  readsByRequire: number;
}

const FS = ['readFileSync', 'readFile', 'openSync', 'open', 'readdirSync', 'readdir', 'statSync'];
const FS_MORE = ['stat', 'existsSync', 'createReadStream', 'writeFileSync', 'writeFile', 'watch'];
const FS_PROMISES = ['readFile', 'open', 'readdir', 'stat', 'writeFile'];
const NETWORK: [object, string, string][] = [
  [net.Socket.prototype, 'connect', 'net.Socket#connect'],
  [net, 'connect', 'net.connect'],
  [net, 'createConnection', 'net.createConnection'],
  [tls, 'connect', 'tls.connect'],
  [http, 'request', 'http.request'],
  [http, 'get', 'http.get'],
  [https, 'request', 'https.request'],
  [https, 'get', 'https.get'],
  [dns, 'lookup', 'dns.lookup'],
  [globalThis, 'fetch', 'fetch'],
];

const callerOf = (stack: string): Omit<TracedCall, 'api'> => {
  let viaRequire = false;
  for (const line of stack.split('\n').slice(1)) {
    const at = /\(?((?:node:|file:\/\/|\/)[^()]*?):\d+:\d+\)?$/.exec(line.trim())?.[1];
    if (at === undefined || at === __filename) {
      continue;
    }
    if (at.startsWith('node:internal/modules/')) {
      viaRequire = true;
    } else if (!at.startsWith('node:')) {
      return { caller: at, viaRequire };
    }
  }
  return { caller: '(node internals)', viaRequire };
};

/** Replaces `target[name]` with a recorder; returns the undo. */
const record = (target: object, name: string, api: string, into: TracedCall[]): (() => void) => {
  const original: unknown = Reflect.get(target, name);
  if (typeof original !== 'function') {
    return () => undefined;
  }
  Reflect.set(target, name, function (this: unknown, ...args: unknown[]): unknown {
    into.push({ api, ...callerOf(new Error().stack ?? '') });
    const result: unknown = Reflect.apply(original, this, args);
    return result;
  });
  return () => Reflect.set(target, name, original);
};

const requireFromApp = createRequire(path.join(process.cwd(), 'index.js'));
requireFromApp('zapier-platform-core');
const fsCalls: TracedCall[] = [];
const network: TracedCall[] = [];
const undo = [
  ...[...FS, ...FS_MORE].map((name) => record(fs, name, `fs.${name}`, fsCalls)),
  ...FS_PROMISES.map((name) => record(fs.promises, name, `fs.promises.${name}`, fsCalls)),
  ...NETWORK.map(([target, name, api]) => record(target, name, api, network)),
];
const cachedBefore = new Set(Object.keys(requireFromApp.cache));
const resourcesBefore = process.getActiveResourcesInfo();
Error.stackTraceLimit = 60;
const start = performance.now();
requireFromApp('./index.js');
const importMs = performance.now() - start;
undo.forEach((restore) => {
  restore();
});
const remaining = [...resourcesBefore];
const appDir = process.cwd() + path.sep;
const ours = (file: string) =>
  file.startsWith(`${appDir}dist${path.sep}`) || file === `${appDir}index.js`;
const show = (call: TracedCall) => `${call.api} from ${call.caller}`;
const fsBy = (own: boolean) =>
  fsCalls.filter((call) => !call.viaRequire && ours(call.caller) === own).map(show);
const loaded = Object.keys(requireFromApp.cache).filter((file) => !cachedBefore.has(file));
const trace: LoadTrace = {
  importMs,
  ourModules: loaded.filter(ours).length,
  otherModules: loaded.filter((file) => !ours(file)),
  fsByOurs: fsBy(true),
  fsByOthers: fsBy(false),
  network: network.map(show),
  newResources: process.getActiveResourcesInfo().filter((resource) => {
    const at = remaining.indexOf(resource);
    return at < 0 || remaining.splice(at, 1).length === 0;
  }),
  readsByRequire: fsCalls.filter((call) => call.viaRequire).length,
};
process.stdout.write(`${JSON.stringify(trace)}\n`);
