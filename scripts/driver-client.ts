/**
 * The parent side of scripts/zip-driver.ts: starts it in a fresh Node 22 process whose working
 * directory is an unpacked build.zip, with an environment that cannot add module folders.
 */
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { DRIVER, isolatedEnv } from './project';
import { RESULT_MARK } from './zip-driver';
import type { Reply, Request } from './zip-driver';

export interface Driver {
  /** Sends one request and waits for its reply (one at a time). */
  request: (request: Request) => Promise<Reply>;
  /** Asks the driver to exit; kills it when it does not within two seconds. */
  close: () => Promise<void>;
  stderr: () => string;
}

const isReply = (value: unknown): value is Reply =>
  typeof value === 'object' && value !== null && 'ok' in value && typeof value.ok === 'boolean';

/** Folders above `dir` with a node_modules that Node's resolution could climb into. */
export const nodeModulesAbove = (dir: string): string[] => {
  const found: string[] = [];
  let current = path.dirname(path.resolve(dir));
  for (;;) {
    const candidate = path.join(current, 'node_modules');
    if (fs.existsSync(candidate)) {
      found.push(candidate);
    }
    const parent = path.dirname(current);
    if (parent === current) {
      return found;
    }
    current = parent;
  }
};

export const startDriver = (appDir: string): Driver => {
  const child = fork(DRIVER, ['serve'], {
    cwd: appDir,
    env: isolatedEnv(),
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  child.on('message', (message: unknown) => {
    const waiting = pending;
    pending = undefined;
    if (waiting === undefined) {
      return;
    }
    if (isReply(message)) {
      waiting.resolve(message);
    } else {
      waiting.reject(new Error(`unexpected message from the driver: ${JSON.stringify(message)}`));
    }
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      pending?.reject(
        new Error(`the driver exited (${String(code ?? signal)}) before answering:\n${stderr}`),
      );
      pending = undefined;
      resolve();
    });
  });
  const request = (message: Request): Promise<Reply> => {
    if (pending !== undefined) {
      return Promise.reject(new Error('one driver request at a time'));
    }
    if (exited) {
      return Promise.reject(new Error(`the driver has exited:\n${stderr}`));
    }
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      child.send(message);
    });
  };
  const close = async (): Promise<void> => {
    if (exited) {
      return;
    }
    child.send({ op: 'exit' } satisfies Request);
    const timer = setTimeout(() => child.kill(), 2000);
    await exitedPromise;
    clearTimeout(timer);
  };
  return { request, close, stderr: () => stderr };
};

export interface OneShot {
  result: unknown;
  wallMs: number;
  stdout: string;
}

/** Runs the driver once in `appDir` (`node [nodeArgs] zip-driver.js ...args`) and reads its result. */
export const runDriverOnce = (
  appDir: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): Promise<OneShot> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, DRIVER, ...args], {
      cwd: appDir,
      env: isolatedEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_MARK));
      if (code !== 0 || line === undefined) {
        reject(new Error(`zip-driver ${args.join(' ')} exited with ${String(code)}:\n${stderr}`));
        return;
      }
      const result: unknown = JSON.parse(line.slice(RESULT_MARK.length));
      resolve({ result, wallMs, stdout });
    });
  });
