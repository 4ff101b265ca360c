/**
 * The real CLI against the sandbox: `zapier-platform invoke … --non-interactive --inputData`
 * converts mapped values to each field's declared type the way Zapier production does before
 * perform runs, so this is what a Zap would do with "1,000" or "maybe".
 *
 * The app is compiled into a throwaway folder (with the project's node_modules linked in) so
 * that neither a stale dist/ nor a developer's .env (which `invoke` loads over the environment)
 * can change what runs.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { useSandbox } from './setup';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const { admin, dealai, sandbox } = useSandbox();
let appDir = '';

beforeAll(() => {
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-app-'));
  const compiled = spawnSync(
    path.join(BIN, 'tsc'),
    ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(appDir, 'dist')],
    { encoding: 'utf8' },
  );
  if (compiled.status !== 0) {
    throw new Error(`tsc failed: ${compiled.stdout}${compiled.stderr}`);
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(appDir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(appDir, 'node_modules'), 'dir');
  fs.writeFileSync(
    path.join(appDir, 'index.js'),
    "module.exports = require('./dist/index.js').default;\n",
  );
}, 120_000);

afterAll(() => {
  fs.rmSync(appDir, { recursive: true, force: true });
});

interface Invoked {
  ok: boolean;
  output: unknown;
  /** The CLI's error, unwrapped from its terminal layout. */
  error: string;
  /** The payload of a z.errors.Error the step threw (`{message, code}`), as the CLI prints it. */
  refusal: Record<string, unknown> | undefined;
}

/** The JSON payload after the CLI's "Error: ", when the step threw a z.errors.Error. */
const refusalIn = (error: string): Record<string, unknown> | undefined => {
  const json = /Error: (\{.*\})/.exec(error)?.[1];
  if (json === undefined) {
    return undefined;
  }
  const parsed: unknown = JSON.parse(json);
  return typeof parsed === 'object' && parsed !== null
    ? Object.fromEntries(Object.entries(parsed))
    : undefined;
};

/** Runs `zapier-platform invoke create <key>` with `inputData` on the connection `auth`. */
const invokeCli = (
  key: string,
  auth: Record<string, string>,
  inputData: Record<string, string>,
): Promise<Invoked> => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`,
    DISABLE_ZAPIER_ANALYTICS: '1',
    NO_UPDATE_NOTIFIER: '1',
  };
  for (const [field, value] of Object.entries(auth)) {
    env[`authData_${field}`] = value;
  }
  const args = ['invoke', 'create', key, '--non-interactive', '--inputData'];
  return new Promise((resolve) => {
    execFile(
      path.join(BIN, 'zapier-platform'),
      [...args, JSON.stringify(inputData)],
      { cwd: appDir, env, encoding: 'utf8' },
      (failure, stdout, stderr) => {
        const error = stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');
        resolve({
          ok: failure === null,
          output: failure === null ? JSON.parse(stdout) : undefined,
          error,
          refusal: refusalIn(error),
        });
      },
    );
  });
};

const SLOW = 120_000;

describe('zapier-platform invoke, with values converted as Zapier converts them', () => {
  it(
    'Provision Credits grants 1000 for credits "1,000"',
    async () => {
      const result = await invokeCli('provision_credits', admin(), {
        email: 'buyer@example.com',
        credits: '1,000',
        mode: 'add',
      });

      expect(result.error).not.toMatch(/Error:/);
      expect(result.output).toMatchObject({ credits: 1000, granted: 1000, created: true });
    },
    SLOW,
  );

  it(
    'Provision Credits halts on credits "1.5", quoting it, before any request',
    async () => {
      sandbox().resetRequestCount();

      const result = await invokeCli('provision_credits', admin(), {
        email: 'buyer@example.com',
        credits: '1.5',
        mode: 'add',
      });

      expect(result.ok).toBe(false);
      expect(result.refusal).toEqual({
        code: 'InvalidInput',
        message: expect.stringContaining(
          'Credits: "1.5" is not a whole number from 1 to 2,147,483,647.',
        ) as unknown,
      });
      expect(sandbox().requestCount()).toBe(0);
    },
    SLOW,
  );

  it(
    'Add User halts on Send Invite Email "maybe" before any request',
    async () => {
      sandbox().resetRequestCount();

      const result = await invokeCli('add_user', dealai(), {
        firstName: 'May',
        email: 'may@example.com',
        sendInviteEmail: 'maybe',
      });

      expect(result.ok).toBe(false);
      expect(result.refusal).toEqual({
        code: 'InvalidInput',
        message: expect.stringContaining('Send Invite Email: "maybe" is not yes or no.') as unknown,
      });
      expect(sandbox().requestCount()).toBe(0);
    },
    SLOW,
  );

  it(
    'Change Role halts on Clear Role When Empty "unsure" with an empty Role, before any request',
    async () => {
      sandbox().resetRequestCount();

      const result = await invokeCli('change_role', dealai(), {
        email: 'may@example.com',
        role: '',
        clearRole: 'unsure',
      });

      expect(result.ok).toBe(false);
      expect(result.refusal).toEqual({
        code: 'InvalidInput',
        message: expect.stringContaining(
          'Clear Role When Empty: "unsure" is not yes or no.',
        ) as unknown,
      });
      expect(sandbox().requestCount()).toBe(0);
    },
    SLOW,
  );

  it(
    'Add User refuses a mailto: link as the email, quoting it, before any request',
    async () => {
      sandbox().resetRequestCount();

      const result = await invokeCli('add_user', dealai(), {
        firstName: 'Ann',
        email: 'mailto:ann@example.com',
      });

      expect(result.ok).toBe(false);
      expect(result.refusal).toEqual({
        code: 'InvalidInput',
        message:
          'Email: "mailto:ann@example.com" starts with "mailto:", which is a link, not an address. Map a field that holds one bare address, such as ann@example.com.',
      });
      expect(sandbox().requestCount()).toBe(0);
    },
    SLOW,
  );

  it(
    'Add User sends the invitation for Send Invite Email "yes"',
    async () => {
      sandbox().resetRequestCount();

      const result = await invokeCli('add_user', dealai(), {
        firstName: 'Yves',
        email: 'yves@example.com',
        sendInviteEmail: 'yes',
      });

      expect(result.error).not.toMatch(/Error:/);
      expect(result.output).toMatchObject({ email: 'yves@example.com', inviteSent: true });
      expect(sandbox().requestCount()).toBe(1);
    },
    SLOW,
  );
});
