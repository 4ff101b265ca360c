/**
 * Carries each end-to-end test file's conformance tally out of its Jest worker: the file saves it
 * into the folder that conformance-setup.ts made, and conformance-teardown.ts prints the sum.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { coverageLines, mergeTallies } from '../../tools/sandbox/conformance';
import type { Tally } from '../../tools/sandbox/conformance';

const FOLDER_VARIABLE = 'CONFORMANCE_TALLY_DIR';

export const makeTallyFolder = (): void => {
  process.env[FOLDER_VARIABLE] = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
};

interface Saved {
  source: string;
  tally: Tally;
}

/** Saves a test file's tally under `source`; outside a Jest run with the global setup, nothing. */
export const saveTally = (source: string, tally: Tally): void => {
  const folder = process.env[FOLDER_VARIABLE];
  if (folder !== undefined && fs.existsSync(folder)) {
    const saved: Saved = { source, tally };
    fs.writeFileSync(path.join(folder, `${randomUUID()}.json`), JSON.stringify(saved));
  }
};

const isSaved = (value: unknown): value is Saved =>
  typeof value === 'object' &&
  value !== null &&
  'source' in value &&
  typeof value.source === 'string' &&
  'tally' in value &&
  typeof value.tally === 'object';

/** The report of every tally saved in this run, per source; then the folder is removed. */
export const collectTallies = (): string[] => {
  const folder = process.env[FOLDER_VARIABLE];
  if (folder === undefined || !fs.existsSync(folder)) {
    return [];
  }
  const saved = fs
    .readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file): unknown => JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')))
    .filter(isSaved);
  fs.rmSync(folder, { recursive: true, force: true });
  const sources = [...new Set(saved.map(({ source }) => source))].sort();
  return sources.flatMap((source) => {
    const tallies = saved.filter((item) => item.source === source).map(({ tally }) => tally);
    const total = mergeTallies(tallies);
    return [
      '',
      `OpenAPI conformance of ${source}, ${String(tallies.length)} file(s): ${String(total.checked)} exchanges checked; violations: ${String(total.violations.request)} in requests, ${String(total.violations.answer)} in answers; ${String(total.deliberate)} deliberate (the Deal.ai connection test); ${String(total.skipped)} sandbox-only skipped`,
      ...coverageLines(total),
    ];
  });
};
