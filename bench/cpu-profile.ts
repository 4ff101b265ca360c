/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time: per function and per origin
 * (our code, zapier-platform-core, its dependencies, Node internals, V8), counting only the
 * samples taken inside a time window (the warm loop, on the monotonic clock of process.hrtime,
 * which is the clock V8's profiler stamps its samples with).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Origin =
  | 'ours'
  | 'zapier-platform-core'
  | 'core dependencies'
  | 'node internals'
  | 'V8 and native (GC, builtins, bindings)'
  | 'bench harness'
  | 'other';

export interface FunctionTime {
  name: string;
  origin: Origin;
  /** Relative to the unpacked app folder, with 1-based line. */
  location: string;
  selfMs: number;
}

export interface ProfileSummary {
  /** Milliseconds of samples in the window, idle excluded. */
  busyMs: number;
  idleMs: number;
  windowed: boolean;
  byOrigin: { origin: Origin; selfMs: number }[];
  /** Our files and zapier-platform-core's dependencies, by file or package. */
  byFile: { origin: Origin; file: string; selfMs: number }[];
  top: FunctionTime[];
  /**
   * Inclusive time (self plus everything called synchronously below) of our functions and
   * zapier-platform-core's: which steps of an invocation cost the most.
   */
  heaviest: FunctionTime[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const isNumberArray = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'number');

const isNode = (value: unknown): value is ProfileNode =>
  isRecord(value) &&
  typeof value.id === 'number' &&
  isRecord(value.callFrame) &&
  typeof value.callFrame.functionName === 'string' &&
  typeof value.callFrame.url === 'string' &&
  typeof value.callFrame.lineNumber === 'number' &&
  (value.children === undefined || isNumberArray(value.children));

const parseProfile = (data: unknown): CpuProfile => {
  if (
    !isRecord(data) ||
    !Array.isArray(data.nodes) ||
    !data.nodes.every(isNode) ||
    typeof data.startTime !== 'number' ||
    typeof data.endTime !== 'number' ||
    !isNumberArray(data.samples) ||
    !isNumberArray(data.timeDeltas)
  ) {
    throw new Error('not a V8 CPU profile');
  }
  return {
    nodes: data.nodes,
    startTime: data.startTime,
    endTime: data.endTime,
    samples: data.samples,
    timeDeltas: data.timeDeltas,
  };
};

const IDLE = '(idle)';

/** Where a frame's code comes from, and its file relative to the app folder. */
const originOf = (
  frame: CallFrame,
  appDir: string,
  harness: string,
): { origin: Origin; file: string } => {
  if (frame.url === '') {
    return { origin: 'V8 and native (GC, builtins, bindings)', file: frame.functionName };
  }
  if (frame.url.startsWith('node:')) {
    return { origin: 'node internals', file: frame.url };
  }
  const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  if (file === harness) {
    return { origin: 'bench harness', file: path.basename(file) };
  }
  const relative = path.relative(appDir, file);
  if (relative === 'index.js' || relative.startsWith(`dist${path.sep}`)) {
    return { origin: 'ours', file: relative };
  }
  if (
    relative === 'zapierwrapper.js' ||
    relative.startsWith(`node_modules${path.sep}zapier-platform-core${path.sep}`)
  ) {
    return { origin: 'zapier-platform-core', file: relative };
  }
  const packageMatch = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(
    relative.split(path.sep).join('/'),
  );
  if (packageMatch?.[1] !== undefined) {
    return { origin: 'core dependencies', file: `node_modules/${packageMatch[1]}` };
  }
  return { origin: 'other', file };
};

const add = <K>(map: Map<K, number>, key: K, value: number): void => {
  map.set(key, (map.get(key) ?? 0) + value);
};

export const summariseProfile = (
  profileFile: string,
  appDir: string,
  harness: string,
  window: { startUs: number; endUs: number },
  topCount = 12,
): ProfileSummary => {
  const profile = parseProfile(JSON.parse(fs.readFileSync(profileFile, 'utf8')));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parents.set(child, node.id);
    }
  }
  const inclusive = new Map<string, FunctionTime>();
  const describe = (frame: CallFrame): FunctionTime => {
    const { origin, file } = originOf(frame, appDir, harness);
    const shortFile =
      origin === 'zapier-platform-core' ? file.replace(/^node_modules\//, '') : file;
    const location = frame.url === '' ? '' : `${shortFile}:${frame.lineNumber + 1}`;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    return { name, origin, location, selfMs: 0 };
  };
  // Only trust the window when it lies inside the profile; otherwise count the whole profile.
  const windowed = window.startUs >= profile.startTime && window.endUs <= profile.endTime;
  const byOrigin = new Map<Origin, number>();
  const byFile = new Map<string, { origin: Origin; file: string; selfMs: number }>();
  const byFunction = new Map<string, FunctionTime>();
  let idleMs = 0;
  let busyMs = 0;
  let time = profile.startTime;
  const count = profile.samples.length;
  for (let index = 0; index < count; index += 1) {
    time += profile.timeDeltas[index] ?? 0;
    const nextDelta = profile.timeDeltas[index + 1];
    const selfMs = (nextDelta ?? profile.endTime - time) / 1000;
    if (windowed && (time < window.startUs || time > window.endUs)) {
      continue;
    }
    const node = nodes.get(profile.samples[index] ?? -1);
    if (node === undefined) {
      continue;
    }
    const frame = node.callFrame;
    if (frame.functionName === IDLE) {
      idleMs += selfMs;
      continue;
    }
    busyMs += selfMs;
    const counted = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parents.get(id)) {
      const callFrame = nodes.get(id)?.callFrame;
      if (callFrame === undefined) {
        break;
      }
      const described = describe(callFrame);
      const key = `${described.name}@${described.location}`;
      if (
        (described.origin === 'ours' || described.origin === 'zapier-platform-core') &&
        !counted.has(key)
      ) {
        counted.add(key);
        const entry = inclusive.get(key) ?? described;
        entry.selfMs += selfMs;
        inclusive.set(key, entry);
      }
    }
    const { origin, file } = originOf(frame, appDir, harness);
    add(byOrigin, origin, selfMs);
    if (origin === 'ours' || origin === 'core dependencies' || origin === 'zapier-platform-core') {
      const key = `${origin}|${file}`;
      const entry = byFile.get(key) ?? { origin, file, selfMs: 0 };
      entry.selfMs += selfMs;
      byFile.set(key, entry);
    }
    const described = describe(frame);
    const key = `${described.name}@${described.location}`;
    const entry = byFunction.get(key) ?? described;
    entry.selfMs += selfMs;
    byFunction.set(key, entry);
  }
  return {
    busyMs,
    idleMs,
    windowed,
    byOrigin: [...byOrigin.entries()]
      .map(([origin, selfMs]) => ({ origin, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
    byFile: [...byFile.values()].sort((a, b) => b.selfMs - a.selfMs),
    top: [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topCount),
    heaviest: [...inclusive.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topCount),
  };
};
