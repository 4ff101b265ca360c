/**
 * Carries each end-to-end test file's conformance tally out of its Jest worker: the file saves it
 * into the folder that conformance-setup.ts made, and conformance-teardown.ts prints the sum.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { coverageLines, mergeTallies } from '../../sandbox/conformance';
import type { Tally } from '../../sandbox/conformance';

const FOLDER_VARIABLE = 'CONFORMANCE_TALLY_DIR';

export const makeTallyFolder = (): void => {
  process.env[FOLDER_VARIABLE] = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
};

/** Saves a test file's tally; outside a Jest run with the global setup it does nothing. */
export const saveTally = (tally: Tally): void => {
  const folder = process.env[FOLDER_VARIABLE];
  if (folder !== undefined && fs.existsSync(folder)) {
    fs.writeFileSync(path.join(folder, `${randomUUID()}.json`), JSON.stringify(tally));
  }
};

const isTally = (value: unknown): value is Tally =>
  typeof value === 'object' && value !== null && 'checked' in value && 'pairs' in value;

/** The report of every tally saved in this run, then the folder is removed. */
export const collectTallies = (): string[] => {
  const folder = process.env[FOLDER_VARIABLE];
  if (folder === undefined || !fs.existsSync(folder)) {
    return [];
  }
  const tallies = fs
    .readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file): unknown => JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')))
    .filter(isTally);
  fs.rmSync(folder, { recursive: true, force: true });
  if (tallies.length === 0) {
    return [];
  }
  const total = mergeTallies(tallies);
  return [
    `OpenAPI conformance of the end-to-end tests (${String(tallies.length)} files): ${String(total.checked)} exchanges checked, ${String(total.violations)} violations (${String(total.deliberate)} deliberate connection tests, ${String(total.skipped)} sandbox-only exchanges skipped)`,
    ...coverageLines(total),
  ];
};
