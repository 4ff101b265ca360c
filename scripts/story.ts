/**
 * The main job (`npm start`): a realistic story run through the built integration as Zapier runs
 * it (Lambda events into the app's handler, scripts/harness.ts), against the local sandbox of both
 * APIs on a free loopback port with a throwaway in-memory database. Each step prints what it sent
 * and got; a failed step is named and the process exits non-zero. The bench runs the same story
 * through the built zip and counts each step's requests.
 */
import { performance } from 'node:perf_hooks';

import {
  SANDBOX_ADMIN_TOKEN_DEFAULT,
  SANDBOX_DEALAI_KEY_DEFAULT,
  startSandbox,
} from '../sandbox/server';
import { projectApp } from './harness';
import type { App, Bundle, Rpc } from './harness';

type Result = Record<string, unknown>;

export interface StoryStep {
  provider: 'dealai' | 'admin';
  title: string;
  method: string;
  inputData: Record<string, unknown>;
  meta?: Bundle['meta'];
  /** Runs after the step; throws (with a reason) when the result is not what the story needs. */
  expect: (result: unknown) => void;
  /**
   * The fewest requests the step can take (the bench's budget): one per action, two only where
   * the API leaves no other way: granting credits to an account that does not exist yet (PATCH
   * answers 404, then POST creates it), and topping up a balance that is short or missing (it
   * must be read before the difference is granted or the account made).
   */
  requests: number;
}

export interface StepReport {
  step: StoryStep;
  /** Requests the sandbox received during the step. */
  requests: number;
}

export interface StoryReport {
  steps: StepReport[];
  requests: number;
  /** Calls to Zapier's side (the cache behind z.cache), which the sandbox also plays. */
  rpcCalls: number;
  millis: number;
}

const fail = (reason: string): never => {
  throw new Error(reason);
};

const asRecord = (value: unknown): Result =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : fail(`expected an object, got ${JSON.stringify(value)}`);

/** Checks that `result` holds every key/value of `wanted`. */
const has =
  (wanted: Result) =>
  (result: unknown): void => {
    const record = asRecord(result);
    for (const [key, value] of Object.entries(wanted)) {
      if (record[key] !== value) {
        fail(`expected ${key} = ${JSON.stringify(value)}, got ${JSON.stringify(record[key])}`);
      }
    }
  };

const listOf =
  (length: number) =>
  (result: unknown): void => {
    if (!Array.isArray(result) || result.length !== length) {
      fail(`expected ${length} result(s), got ${JSON.stringify(result)}`);
    }
  };

const JANE = 'Jane.Doe@Example.com';
const SAM = 'sam.lee@example.com';
const KIM = 'kim.ng@example.com';
const LEE = 'lee.park@example.com';

/** The story: what a reseller's Zaps do to one user over their life on each kind of site. */
export const STORY: StoryStep[] = [
  {
    provider: 'dealai',
    title: 'Connect',
    method: 'authentication.test',
    inputData: {},
    expect: has({ provider: 'dealai' }),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: 'Add User with a role and an invite (Stripe payment)',
    method: 'creates.add_user.operation.perform',
    inputData: {
      firstName: 'Jane',
      lastName: 'Doe',
      email: ` ${JANE} `,
      sendInviteEmail: 'true',
      role: 'Basic Plan',
    },
    expect: has({ email: JANE.toLowerCase(), role: 'Basic Plan', inviteSent: true }),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: 'Change Role (plan upgraded)',
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: 'Premium Plan' },
    expect: has({ role: 'Premium Plan', roleCleared: false }),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: 'Change Role: clear it (subscription cancelled)',
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: '', clearRole: 'true' },
    expect: has({ role: null, roleCleared: true }),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: 'Remove User',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE },
    expect: has({ removed: true }),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: 'Remove User again, Succeed If Already Gone',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE, ignoreMissing: 'true' },
    expect: has({ removed: false }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Connect',
    method: 'authentication.test',
    inputData: {},
    expect: has({ provider: 'admin' }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Add User with starting credits',
    method: 'creates.add_user.operation.perform',
    inputData: { email: JANE, credits: '100' },
    expect: has({ email: JANE.toLowerCase(), credits: 100 }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Find or Add User: the same user is found (search half)',
    method: 'searches.find_user.operation.perform',
    inputData: { email: JANE.toUpperCase() },
    expect: listOf(1),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Find or Add User: a new user is not found (search half)',
    method: 'searches.find_user.operation.perform',
    inputData: { email: SAM },
    expect: listOf(0),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Find or Add User: so Zapier adds them (create half)',
    method: 'creates.add_user.operation.perform',
    inputData: { email: SAM },
    expect: has({ email: SAM, credits: 0 }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Add 50',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '50', mode: 'add' },
    expect: has({ credits: 150, granted: 50, created: false }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up to 500',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: 500, mode: 'atLeast' },
    expect: has({ credits: 500, granted: 350 }),
    requests: 2,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up to 500 again (changes nothing)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: 500, mode: 'atLeast' },
    expect: has({ credits: 500, granted: 0 }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Add 25 for a buyer with no account yet (creates it)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: KIM, credits: '25', mode: 'add' },
    expect: has({ credits: 25, granted: 25, created: true }),
    requests: 2,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up a new buyer to 200 (creates the account)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: LEE, credits: '200', mode: 'atLeast' },
    expect: has({ credits: 200, created: true }),
    requests: 2,
  },
  {
    provider: 'admin',
    title: 'Remove User (deactivates, zeroes credits)',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE },
    expect: has({ removed: true, credits: 0 }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Remove User again, Succeed If Already Gone',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE, ignoreMissing: true },
    expect: has({ removed: false }),
    requests: 1,
  },
];

/** Text of a Zapier error for a person: AppError and ThrottledError wrap theirs in JSON. */
const reasonOf = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
      return String(parsed.message);
    }
  } catch {
    // a plain message
  }
  return message.split('\nWhat happened:')[0] ?? message;
};

const short = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text.length > 150 ? `${text.slice(0, 149)}…` : text;
};

/** Runs the story through `app` against a fresh sandbox; throws at the first step that fails. */
export const runStory = async (
  app: App,
  log: (line: string) => void = (line) => {
    process.stdout.write(`${line}\n`);
  },
): Promise<StoryReport> => {
  const started = performance.now();
  const sandbox = await startSandbox({ port: 0, dbPath: ':memory:' });
  log(`Sandbox of both APIs listening at ${sandbox.url} (throwaway in-memory database)`);
  // As on Zapier, every event carries the RPC endpoint behind z.cache and a token that stands for
  // the reseller's Zapier account and the step's connection. With a token the runtime streams its
  // logs too: to the sandbox, not to Zapier's log server.
  process.env.LOGGING_ENDPOINT = sandbox.zapier.logUrl;
  const rpcFor = (provider: StoryStep['provider']): Rpc => ({
    rpcBase: sandbox.zapier.rpcUrl,
    token: sandbox.zapier.issueToken({
      account: 'story-reseller',
      connection: `story-${provider}`,
    }),
  });
  const connections: Record<StoryStep['provider'], Record<string, string>> = {
    dealai: {
      provider: 'dealai',
      apiKey: SANDBOX_DEALAI_KEY_DEFAULT,
      baseUrl: sandbox.dealaiBaseUrl,
    },
    admin: {
      provider: 'admin',
      apiKey: SANDBOX_ADMIN_TOKEN_DEFAULT,
      baseUrl: sandbox.adminBaseUrl,
    },
  };
  try {
    const steps: StepReport[] = [];
    for (const [index, step] of STORY.entries()) {
      const name = `${String(index + 1).padStart(2)}. [${step.provider}] ${step.title}`;
      const bundle: Bundle = {
        authData: connections[step.provider],
        inputData: step.inputData,
        ...(step.meta === undefined ? {} : { meta: step.meta }),
      };
      const before = sandbox.requestCount();
      let result: unknown;
      try {
        result = await app.execute(step.method, bundle, rpcFor(step.provider));
        step.expect(result);
      } catch (error) {
        log(`✗ ${name}\n     sent ${short(step.inputData)}\n     ${reasonOf(error)}`);
        throw new Error(
          `Story failed at step ${String(index + 1)}: ${step.title} (${step.provider})`,
        );
      }
      steps.push({ step, requests: sandbox.requestCount() - before });
      log(`✓ ${name}\n     sent ${short(step.inputData)}\n     got  ${short(result)}`);
    }
    const report = {
      steps,
      requests: sandbox.requestCount(),
      rpcCalls: sandbox.zapier.rpcCount(),
      millis: Math.round(performance.now() - started),
    };
    log(
      `\nAll ${String(steps.length)} steps passed: ${String(report.requests)} API requests and ${String(report.rpcCalls)} cache calls reached the sandbox in ${String(report.millis)} ms.`,
    );
    return report;
  } finally {
    await sandbox.close();
  }
};

if (require.main === module) {
  const app = projectApp();
  runStory(app)
    .catch((error: unknown) => {
      process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => app.close());
}
