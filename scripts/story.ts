/**
 * The main job (`npm start`): a realistic story run through the built integration exactly as
 * Zapier runs it (Lambda events into the app's handler, loaded from the root index.js that
 * zapierwrapper.js loads), against the local sandbox of both APIs on a free loopback port with a
 * throwaway in-memory database. Each step prints one line; a failed step is named and the process
 * exits non-zero.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  SANDBOX_ADMIN_TOKEN_DEFAULT,
  SANDBOX_DEALAI_KEY_DEFAULT,
  startSandbox,
} from '../sandbox/server';

type Handler = (event: Record<string, unknown>) => Promise<unknown>;

/**
 * zapier-platform-core's Lambda handler factory, which its typings leave out: the same call the
 * zapierwrapper.js in build.zip makes.
 */
const createAppHandler = (appPath: string): Handler => {
  const core: unknown = createRequire(__filename)('zapier-platform-core');
  const factory: unknown =
    typeof core === 'object' && core !== null ? Reflect.get(core, 'createAppHandler') : undefined;
  if (typeof factory !== 'function') {
    throw new Error('zapier-platform-core has no createAppHandler');
  }
  const handler: unknown = Reflect.apply(factory, core, [appPath]);
  if (typeof handler !== 'function') {
    throw new Error('createAppHandler returned no handler');
  }
  return async (event) => {
    const output: unknown = await Reflect.apply(handler, undefined, [event]);
    return output;
  };
};

type Bundle = { authData: Record<string, string>; inputData: Record<string, unknown> };
type Result = Record<string, unknown>;

export interface StoryStep {
  provider: 'dealai' | 'admin';
  title: string;
  method: string;
  inputData: Record<string, unknown>;
  /** Runs after the step; throws (with a reason) when the result is not what the story needs. */
  expect: (result: unknown) => void;
}

export interface StoryReport {
  steps: number;
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

/** The story: what a reseller's Zaps do to one user over their life on each kind of site. */
export const STORY: StoryStep[] = [
  {
    provider: 'dealai',
    title: 'Connect',
    method: 'authentication.test',
    inputData: {},
    expect: has({ provider: 'dealai' }),
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
  },
  {
    provider: 'dealai',
    title: 'Change Role (plan upgraded)',
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: 'Premium Plan' },
    expect: has({ role: 'Premium Plan', roleCleared: false }),
  },
  {
    provider: 'dealai',
    title: 'Change Role: clear it (subscription cancelled)',
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: '', clearRole: 'true' },
    expect: has({ role: null, roleCleared: true }),
  },
  {
    provider: 'dealai',
    title: 'Remove User',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE },
    expect: has({ removed: true }),
  },
  {
    provider: 'dealai',
    title: 'Remove User again, Succeed If Already Gone',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE, ignoreMissing: 'true' },
    expect: has({ removed: false }),
  },
  {
    provider: 'admin',
    title: 'Connect',
    method: 'authentication.test',
    inputData: {},
    expect: has({ provider: 'admin' }),
  },
  {
    provider: 'admin',
    title: 'Add User with starting credits',
    method: 'creates.add_user.operation.perform',
    inputData: { email: JANE, credits: '100' },
    expect: has({ email: JANE.toLowerCase(), credits: 100 }),
  },
  {
    provider: 'admin',
    title: 'Find or Add User: the same user is found (search half)',
    method: 'searches.find_user.operation.perform',
    inputData: { email: JANE.toUpperCase() },
    expect: listOf(1),
  },
  {
    provider: 'admin',
    title: 'Find or Add User: a new user is not found (search half)',
    method: 'searches.find_user.operation.perform',
    inputData: { email: SAM },
    expect: listOf(0),
  },
  {
    provider: 'admin',
    title: 'Find or Add User: so Zapier adds them (create half)',
    method: 'creates.add_user.operation.perform',
    inputData: { email: SAM },
    expect: has({ email: SAM, credits: 0 }),
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Add 50',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '50', mode: 'add' },
    expect: has({ credits: 150, granted: 50, created: false }),
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up to 500',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: 500, mode: 'atLeast' },
    expect: has({ credits: 500, granted: 350 }),
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up to 500 again (changes nothing)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: 500, mode: 'atLeast' },
    expect: has({ credits: 500, granted: 0 }),
  },
  {
    provider: 'admin',
    title: 'Remove User (deactivates, zeroes credits)',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE },
    expect: has({ removed: true, credits: 0 }),
  },
  {
    provider: 'admin',
    title: 'Remove User again, Succeed If Already Gone',
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE, ignoreMissing: true },
    expect: has({ removed: false }),
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

export const runStory = async (
  log: (line: string) => void = (line) => {
    process.stdout.write(`${line}\n`);
  },
): Promise<StoryReport> => {
  const started = performance.now();
  const sandbox = await startSandbox({ port: 0, dbPath: ':memory:' });
  log(`Sandbox of both APIs listening at ${sandbox.url} (throwaway in-memory database)`);
  // The app as Zapier's CommonJS wrapper loads it: the package's root index.js.
  const handler = createAppHandler(path.resolve(__dirname, '..', '..', 'index.js'));
  // As on Zapier, every event carries the RPC endpoint behind z.cache and a token that stands for
  // the reseller's Zapier account and the step's connection. With a token the runtime streams its
  // logs too: to the sandbox, not to Zapier's log server.
  process.env.LOGGING_ENDPOINT = sandbox.zapier.logUrl;
  const tokenFor = (provider: StoryStep['provider']): string =>
    sandbox.zapier.issueToken({ account: 'story-reseller', connection: `story-${provider}` });
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
    for (const [index, step] of STORY.entries()) {
      const name = `${String(index + 1).padStart(2)}. [${step.provider}] ${step.title}`;
      const bundle: Bundle = { authData: connections[step.provider], inputData: step.inputData };
      let result: unknown;
      try {
        // calledFromCli, as `zapier-platform invoke` sends it: the same path without Lambda's memory log.
        const output = await handler({
          command: 'execute',
          method: step.method,
          bundle,
          calledFromCli: true,
          rpc_base: sandbox.zapier.rpcUrl,
          token: tokenFor(step.provider),
        });
        result = asRecord(output).results;
        step.expect(result);
      } catch (error) {
        log(`✗ ${name}\n     sent ${short(step.inputData)}\n     ${reasonOf(error)}`);
        throw new Error(
          `Story failed at step ${String(index + 1)}: ${step.title} (${step.provider})`,
        );
      }
      log(`✓ ${name}\n     sent ${short(step.inputData)}\n     got  ${short(result)}`);
    }
    const report = {
      steps: STORY.length,
      requests: sandbox.requestCount(),
      rpcCalls: sandbox.zapier.rpcCount(),
      millis: Math.round(performance.now() - started),
    };
    log(
      `\nAll ${String(report.steps)} steps passed: ${String(report.requests)} API requests and ${String(report.rpcCalls)} cache calls reached the sandbox in ${String(report.millis)} ms.`,
    );
    return report;
  } finally {
    await sandbox.close();
  }
};

if (require.main === module) {
  runStory().catch((error: unknown) => {
    process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
