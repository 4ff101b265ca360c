/**
 * The main job (`npm start`): a realistic story run through the built integration as Zapier runs
 * it (Lambda events into the app's handler, tools/harness.ts), against the local sandbox of both
 * APIs on a free loopback port with a throwaway in-memory database. Each step prints what it sent
 * and got; a failed step is named and the process exits non-zero. The bench runs the same story
 * through the built zip and counts each step's requests.
 *
 * As on Zapier, every event carries `rpc_base` and a `token`: z.cache (the Idempotency Key) goes
 * to the sandbox's RPC endpoint, in the space of the reseller's Zapier account and the step's
 * connection, and the runtime's logs go to the sandbox's log sink.
 */
import { performance } from 'node:perf_hooks';

import { checkExchanges, formatViolation } from './sandbox/conformance';
import {
  SANDBOX_ADMIN_TOKEN,
  SANDBOX_DEALAI_KEY,
  SANDBOX_ONLY_PREFIX,
  postAsOwner,
  startSandbox,
} from './sandbox/server';
import { projectApp } from './harness';
import type { Sandbox } from './sandbox/server';
import type { App, Bundle, Rpc } from './harness';

type Result = Record<string, unknown>;

export interface StoryStep {
  provider: 'dealai' | 'admin';
  title: string;
  method: string;
  inputData: Record<string, unknown>;
  meta?: Bundle['meta'];
  /**
   * Runs after the step; throws (with a reason) when the result is not what the story needs. A
   * trigger's poll is checked on what runs its Zap: the items whose ID the Zap has not seen.
   */
  expect: (result: unknown) => void;
  /** What users do on the site before the step: calls to its API that spend their credits. */
  site?: { say: string; spend: Spend[] };
  /**
   * What the site holds after the step, read from the sandbox's store (Deal.ai has no read
   * route): returns the line to print, throws when it is not what the story needs.
   */
  onSite?: (sandbox: Sandbox, result: unknown) => string;
  /**
   * The fewest requests the step can take (the bench's budget): one per action, two only where
   * the API leaves no other way: granting credits to an account that does not exist yet (PATCH
   * answers 404, then POST creates it), topping up a balance that is short or missing (it must be
   * read before the difference is granted or the account made), and, on Deal.ai, the connection
   * test and an "already gone", whose answer is proved to be the API's own by the route refusing
   * a key that cannot be valid (docs/api.md).
   */
  requests: number;
}

/** Calls a user makes to the site's API, as the sandbox-only POST /sandbox/consume records them. */
export interface Spend {
  email: string;
  service: 'search' | 'browser';
  credits: number;
  calls: number;
  failed?: boolean;
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

/** What a poll fires: nothing, or these emails in this order. */
const fires =
  (...emails: string[]) =>
  (result: unknown): void => {
    const fired = Array.isArray(result)
      ? result.map((item: unknown) => asRecord(item).email)
      : fail(`expected the items of a poll, got ${JSON.stringify(result)}`);
    if (JSON.stringify(fired) !== JSON.stringify(emails)) {
      fail(`expected the Zap to run for ${JSON.stringify(emails)}, got ${JSON.stringify(fired)}`);
    }
  };

/** Checks the one result of a search for every key/value of `wanted`. */
const found =
  (wanted: Result) =>
  (result: unknown): void => {
    listOf(1)(result);
    has(wanted)(Array.isArray(result) ? result[0] : undefined);
  };

const NEW_USER = 'triggers.new_user.operation.perform';
const CREDITS_LOW = 'triggers.credits_low.operation.perform';
const NEW_USER_ZAP = { zap: { id: 'story-new-user' } };
const CREDITS_LOW_ZAP = { zap: { id: 'story-credits-low' } };
const LOW = { threshold: '100' };
const STARTED = Date.now();
/** The story's spending happens now: the period runs from a day ago to an hour ahead. */
const PERIOD = {
  from: new Date(STARTED - 24 * 3600_000).toISOString(),
  to: new Date(STARTED + 3600_000).toISOString(),
};

const JANE = 'Jane.Doe@Example.com';
/** Stripe's `created` (Unix seconds) of the story's plan-change events: a minute ago, and after. */
const EVENT_CREATED = Math.floor(STARTED / 1000) - 60;
const createdAt = (seconds: number): string => String(EVENT_CREATED + seconds);
const clockTime = (seconds: number): string =>
  new Date((EVENT_CREATED + seconds) * 1000).toISOString().slice(11, 19);

/** Jane's role on the Deal.ai site, which must be `role`. */
const janesRole =
  (role: string) =>
  (sandbox: Sandbox, result: unknown): string => {
    const stored = sandbox.dealaiUser(JANE)?.role;
    if (stored !== role) {
      fail(`expected Jane's role on the site to be ${role}, got ${JSON.stringify(stored)}`);
    }
    const note = asRecord(result).staleNote;
    return `Jane's role on the site: ${role}${typeof note === 'string' ? `\n     note: ${note}` : ''}`;
  };
const SAM = 'sam.lee@example.com';
const KIM = 'kim.ng@example.com';
const LEE = 'lee.park@example.com';

/** The story: what a reseller's Zaps do to one user over their life on each kind of site. */
export const STORY: StoryStep[] = [
  {
    provider: 'dealai',
    title: 'Connect (the key is accepted, and a key that cannot be valid is refused)',
    method: 'authentication.test',
    inputData: {},
    expect: has({ provider: 'dealai' }),
    requests: 2,
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
    title: `Stripe delivers two plan changes out of order. First the upgrade to Premium (event created ${clockTime(5)}, Event Time = its "created")`,
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: 'Premium Plan', eventTime: createdAt(5) },
    expect: has({ role: 'Premium Plan', stale: false }),
    onSite: janesRole('Premium Plan'),
    requests: 1,
  },
  {
    provider: 'dealai',
    title: `Then the downgrade to Basic, created earlier (${clockTime(1)}): stale, sends nothing, green`,
    method: 'creates.change_role.operation.perform',
    inputData: { email: JANE, role: 'Basic Plan', eventTime: createdAt(1) },
    expect: has({ stale: true, role: null }),
    onSite: janesRole('Premium Plan'),
    requests: 0,
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
    title: "Remove User again, Succeed If Already Gone (the 404 proved to be the API's own)",
    method: 'creates.remove_user.operation.perform',
    inputData: { email: JANE, ignoreMissing: 'true' },
    expect: has({ removed: false }),
    requests: 2,
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
    title: 'Turn on a New User Zap (its first poll only records who is there)',
    method: NEW_USER,
    inputData: {},
    meta: { ...NEW_USER_ZAP, isPopulatingDedupe: true },
    expect: fires(),
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
    title: 'New User polls: Jane appeared, the Zap runs once',
    method: NEW_USER,
    inputData: {},
    meta: NEW_USER_ZAP,
    expect: fires(JANE.toLowerCase()),
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
    title: 'New User polls: Sam appeared too; Jane does not run the Zap again',
    method: NEW_USER,
    inputData: {},
    meta: NEW_USER_ZAP,
    expect: fires(SAM),
    requests: 1,
  },
  {
    provider: 'admin',
    title:
      'Turn on a Credits Running Low Zap, below 100 credits (Sam, already at 0, will not run it)',
    method: CREDITS_LOW,
    inputData: LOW,
    meta: { ...CREDITS_LOW_ZAP, isPopulatingDedupe: true },
    expect: fires(),
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
    title: 'Credits Running Low polls: Jane spent down to 50, the Zap runs once',
    method: CREDITS_LOW,
    inputData: LOW,
    meta: CREDITS_LOW_ZAP,
    site: {
      say: 'Jane makes 45 search calls (450 credits)',
      spend: [{ email: JANE, service: 'search', credits: 450, calls: 45 }],
    },
    expect: fires(JANE.toLowerCase()),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Credits Running Low polls: Jane spent more (20 left), still the same low: nothing',
    method: CREDITS_LOW,
    inputData: LOW,
    meta: CREDITS_LOW_ZAP,
    site: {
      say: 'Jane makes 3 browser calls (30 credits)',
      spend: [{ email: JANE, service: 'browser', credits: 30, calls: 3 }],
    },
    expect: fires(),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Provision Credits, Top Up Jane to 500 again (she bought a pack)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '500', mode: 'atLeast' },
    expect: has({ credits: 500, granted: 480 }),
    requests: 2,
  },
  {
    provider: 'admin',
    title: 'Credits Running Low polls: Jane is back above 100, nothing',
    method: CREDITS_LOW,
    inputData: LOW,
    meta: CREDITS_LOW_ZAP,
    expect: fires(),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'Credits Running Low polls: Jane spent down to 80, the Zap runs again',
    method: CREDITS_LOW,
    inputData: LOW,
    meta: CREDITS_LOW_ZAP,
    site: {
      say: 'Jane makes 42 search calls (420 credits), and 2 that fail (no credits)',
      spend: [
        { email: JANE, service: 'search', credits: 420, calls: 42 },
        { email: JANE, service: 'search', credits: 0, calls: 2, failed: true },
      ],
    },
    expect: fires(JANE.toLowerCase()),
    requests: 1,
  },
  {
    provider: 'admin',
    title: "Find Usage: Jane's spending since yesterday, per service",
    method: 'searches.find_usage.operation.perform',
    inputData: { email: JANE, ...PERIOD },
    expect: found({
      email: JANE.toLowerCase(),
      calls: 92,
      failedCalls: 2,
      credits: 900,
      searchCredits: 870,
      browserCredits: 30,
    }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: "Find Usage: every user's search calls since yesterday",
    method: 'searches.find_usage.operation.perform',
    inputData: { ...PERIOD, service: 'search' },
    expect: found({ email: 'all users', users: 1, calls: 89, credits: 870, browserCalls: 0 }),
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
    title: 'Provision Credits, Add 500 for payment pi_A (Idempotency Key = the payment ID)',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '500', mode: 'add', idempotencyKey: 'pi_A' },
    expect: has({ credits: 580, granted: 500, replayed: false }),
    requests: 1,
  },
  {
    provider: 'admin',
    title: 'The same payment pi_A delivered again (a webhook retry): grants nothing',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '500', mode: 'add', idempotencyKey: 'pi_A' },
    expect: has({ credits: 580, granted: 500, replayed: true }),
    requests: 0,
  },
  {
    provider: 'admin',
    title: 'A second payment pi_B for the same pack: grants again',
    method: 'creates.provision_credits.operation.perform',
    inputData: { email: JANE, credits: '500', mode: 'add', idempotencyKey: 'pi_B' },
    expect: has({ credits: 1080, granted: 500, replayed: false }),
    requests: 1,
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
    inputData: { email: JANE, ignoreMissing: 'yes' },
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

/**
 * What a poll runs its Zap for, as Zapier decides (https://docs.zapier.com/platform/build/deduplication):
 * the first poll of a Zap (`isPopulatingDedupe`) only records the IDs; later polls run it for each
 * item whose ID the Zap has not seen.
 */
const fired = (
  seen: Map<string, Set<string>>,
  meta: Bundle['meta'],
  items: readonly unknown[],
): unknown[] => {
  const zap = JSON.stringify(meta?.zap ?? null);
  const ids = seen.get(zap) ?? new Set<string>();
  seen.set(zap, ids);
  const fresh = items.filter((item) => !ids.has(String(asRecord(item).id)));
  for (const item of items) {
    ids.add(String(asRecord(item).id));
  }
  return meta?.isPopulatingDedupe === true ? [] : fresh;
};

/** Runs the story through `app` against a fresh sandbox; throws at the first step that fails. */
export const runStory = async (
  app: App,
  log: (line: string) => void = (line) => {
    process.stdout.write(`${line}\n`);
  },
): Promise<StoryReport> => {
  const started = performance.now();
  const sandbox = await startSandbox({ port: 0, dbPath: ':memory:', record: true });
  log(`Sandbox of both APIs listening at ${sandbox.url} (throwaway in-memory database)`);
  // Zapier issues a token per invocation; each stands for the reseller's account and a connection.
  const rpcFor = (provider: StoryStep['provider']): Rpc => ({
    rpcBase: sandbox.zapier.rpcUrl,
    token: sandbox.zapier.issueToken({
      account: 'story-reseller',
      connection: `story-${provider}`,
    }),
    logUrl: sandbox.zapier.logUrl,
  });
  const connections: Record<StoryStep['provider'], Record<string, string>> = {
    dealai: {
      provider: 'dealai',
      apiKey: SANDBOX_DEALAI_KEY,
      baseUrl: sandbox.dealaiBaseUrl,
    },
    admin: {
      provider: 'admin',
      apiKey: SANDBOX_ADMIN_TOKEN,
      baseUrl: sandbox.adminBaseUrl,
    },
  };
  // Zapier's deduplication, per Zap: the IDs each Zap has seen.
  const seen = new Map<string, Set<string>>();
  const spend = async (body: Spend): Promise<void> => {
    await postAsOwner(sandbox, `${SANDBOX_ONLY_PREFIX}/consume`, body);
  };
  try {
    const steps: StepReport[] = [];
    for (const [index, step] of STORY.entries()) {
      const name = `${String(index + 1).padStart(2)}. [${step.provider}] ${step.title}`;
      for (const body of step.site?.spend ?? []) {
        await spend(body);
      }
      const bundle: Bundle = {
        authData: connections[step.provider],
        inputData: step.inputData,
        ...(step.meta === undefined ? {} : { meta: step.meta }),
      };
      const before = sandbox.requestCount();
      let result: unknown;
      let returned = '';
      let onSite = '';
      try {
        result = await app.execute(step.method, bundle, rpcFor(step.provider));
        if (step.method.startsWith('triggers.')) {
          const items = Array.isArray(result) ? result : [];
          returned = ` (the poll returned ${String(items.length)})`;
          result = fired(seen, step.meta, items);
        }
        step.expect(result);
        onSite = step.onSite === undefined ? '' : `\n     site: ${step.onSite(sandbox, result)}`;
      } catch (error) {
        log(`✗ ${name}\n     sent ${short(step.inputData)}\n     ${reasonOf(error)}`);
        throw new Error(
          `Story failed at step ${String(index + 1)}: ${step.title} (${step.provider})`,
        );
      }
      steps.push({ step, requests: sandbox.requestCount() - before });
      const site = step.site === undefined ? '' : `\n     meanwhile: ${step.site.say}`;
      log(
        `✓ ${name}${site}\n     sent ${short(step.inputData)}\n     got  ${short(result)}${returned}${onSite}`,
      );
    }
    const conformance = await checkExchanges(sandbox.takeExchanges());
    if (conformance.violations.length > 0) {
      log(
        `✗ OpenAPI conformance\n     ${conformance.violations.map(formatViolation).join('\n     ')}`,
      );
      throw new Error(
        `Story failed: ${String(conformance.violations.length)} violation(s) of the APIs' OpenAPI documents`,
      );
    }
    log(
      `✓ OpenAPI conformance: ${String(conformance.checked)} exchanges checked against docs/*.openapi.json, no violation`,
    );
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
