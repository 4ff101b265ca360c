/**
 * One log line per API request, as Zapier's Lambda runs the app. Tests, `invoke` and the story
 * send `calledFromCli`, which turns off the runtime's patch of Node's http and https; on Lambda
 * it is on, and it logs every request whose User-Agent is not exactly "Zapier" a second time,
 * with the whole body (zapier-platform-core's create-http-patch.js). Here the handler runs
 * without `calledFromCli`, with a token, so the runtime streams its log lines to
 * LOGGING_ENDPOINT (nock), and the lines are counted per request.
 */
import nock from 'nock';

import App from '../index';
import { ADMIN_KEY, ADMIN_ORIGIN, admin, adminAuth } from './helpers';
import { keepHttpModules, lambdaHandler } from './support/lambda';
import { RUN, fakeCache } from './support/zcache';
import { isRecord } from '../src/records';

const LOG_ORIGIN = 'https://logs.lambda.invalid';

interface LogLine {
  message: string;
  data: Record<string, unknown>;
}

const lines: LogLine[] = [];
const saved = process.env.LOGGING_ENDPOINT;

beforeAll(() => {
  process.env.LOGGING_ENDPOINT = `${LOG_ORIGIN}/input`;
});
afterAll(() => {
  if (saved === undefined) {
    Reflect.deleteProperty(process.env, 'LOGGING_ENDPOINT');
  } else {
    process.env.LOGGING_ENDPOINT = saved;
  }
});

beforeEach(() => {
  lines.length = 0;
  nock(LOG_ORIGIN)
    .persist()
    .post('/input')
    .reply((_uri, body) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      for (const line of text.split('\n').filter((part) => part.trim() !== '')) {
        const parsed: unknown = JSON.parse(line);
        if (isRecord(parsed) && typeof parsed.message === 'string' && isRecord(parsed.data)) {
          lines.push({ message: parsed.message, data: parsed.data });
        }
      }
      return [200, 'ok'];
    });
});

/** The HTTP log lines about the API (not z.cache, not the log stream itself). */
const apiLines = (): LogLine[] =>
  lines.filter(
    (line) =>
      line.data.log_type === 'http' && String(line.data.request_url).startsWith(ADMIN_ORIGIN),
  );

const USERS = Array.from({ length: 200 }, (_, index) => ({
  email: `user${String(index)}@example.com`,
  credits: index % 10 === 0 ? 5 : 500,
}));

/** Each step with the API answers it needs, and how many requests it sends. */
const STEPS: { method: string; inputData: Record<string, unknown>; requests: number }[] = [
  { method: 'authentication.test', inputData: {}, requests: 1 },
  { method: 'searches.find_user.operation.perform', inputData: { email: 'a@b.co' }, requests: 1 },
  { method: 'triggers.new_user.operation.perform', inputData: {}, requests: 1 },
  {
    method: 'triggers.credits_low.operation.perform',
    inputData: { threshold: '100' },
    requests: 1,
  },
  {
    method: 'creates.add_user.operation.perform',
    inputData: { email: 'new@example.com', credits: '5' },
    requests: 1,
  },
];

const answerApi = (): nock.Scope =>
  admin()
    .get('/user')
    .reply(200, { email: 'owner@example.com', credits: 10 })
    .get('/users')
    .query({ email: 'a@b.co' })
    .reply(200, [{ email: 'a@b.co', credits: 1 }])
    .get('/users')
    .times(2)
    .reply(200, USERS)
    .post('/users')
    .reply(201, { email: 'new@example.com', token: 'a1-token', credits: 5 });

/** Runs every step as Lambda does with `app`, and the API log lines each one left. */
const runSteps = async (app: object): Promise<{ method: string; lines: LogLine[] }[]> => {
  fakeCache();
  const scope = answerApi();
  const run = lambdaHandler(app);
  const perStep: { method: string; lines: LogLine[] }[] = [];
  for (const step of STEPS) {
    const before = apiLines().length;
    await run(
      step.method,
      {
        authData: adminAuth,
        inputData: step.inputData,
        meta: { isPopulatingDedupe: true, zap: { id: 'lambda-zap' } },
      },
      RUN,
    );
    perStep.push({ method: step.method, lines: apiLines().slice(before) });
  }
  scope.done();
  return perStep;
};

describe('as Zapier Lambda runs the app (http patch on, logs streamed)', () => {
  it('logs each API request exactly once, as z.request logged it', async () => {
    const perStep = await runSteps(App);

    expect(perStep.map((step) => [step.method, step.lines.length])).toEqual(
      STEPS.map((step) => [step.method, step.requests]),
    );
    const all = perStep.flatMap((step) => step.lines);
    expect(new Set(all.map((line) => line.data.request_type))).toEqual(
      new Set(['devplatform-outbound']),
    );
    // Requests stay identifiable: the integration and its version, and never the key.
    for (const line of all) {
      expect(String(line.data.request_headers)).toMatch(
        /user-agent: Zapier whitelabel-users\/\d+\.\d+\.\d+/i,
      );
      expect(JSON.stringify(line)).not.toContain(ADMIN_KEY);
    }
  });

  it('does not copy the list of accounts into the log: GET /users is read as a stream', async () => {
    const perStep = await runSteps(App);

    const polls = perStep
      .filter((step) => step.method.startsWith('triggers.'))
      .flatMap((step) => step.lines);
    expect(polls).toHaveLength(2);
    for (const line of polls) {
      expect(line.message).toBe(`200 GET ${ADMIN_ORIGIN}/users`);
      expect(line.data.response_content).toBe('<probably streaming data>');
    }
  });

  it('would count the doubling: with the patch on, every request is logged twice', async () => {
    const restore = keepHttpModules();
    try {
      const patched = { ...App, flags: { ...App.flags, skipHttpPatch: false } };
      const perStep = await runSteps(patched);

      expect(perStep.map((step) => [step.method, step.lines.length])).toEqual(
        STEPS.map((step) => [step.method, step.requests * 2]),
      );
      const types = perStep.flatMap((step) => step.lines.map((line) => line.data.request_type));
      expect(types.filter((type) => type === 'patched-devplatform-outbound')).toHaveLength(
        STEPS.reduce((sum, step) => sum + step.requests, 0),
      );
    } finally {
      restore();
    }
  });
});
