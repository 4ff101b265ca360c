import App from '../../index';
import {
  admin,
  adminAuth,
  inApp,
  dealaiAuth,
  failure,
  messageOf,
  performOf,
  run,
  unmatched,
} from '../helpers';
import { DELIVERIES, deliver } from '../support/zapier-delivery';
import type { Delivery } from '../support/zapier-delivery';

const findUsage = App.searches.find_usage;

const JUNE = { from: '2025-06-01T00:00:00-05:00', to: '2025-06-30T23:59:59-05:00' };
const SENT = { from: '2025-06-01T05:00:00Z', to: '2025-07-01T04:59:59Z', by: 'total' };

const row = (email: string, service: string, result: string, calls: number, credits: number) => ({
  email,
  from: '2025-06-02T10:00:00+00:00',
  to: '2025-06-20T15:00:00+00:00',
  service,
  result,
  calls,
  credits,
  meanSecs: 1.5,
});

const REFUSAL =
  'Use a date such as "2025-06-01", a date and time such as "2025-06-01 14:30" or "2025-06-01T14:30:00Z", a Unix timestamp, or words such as now, today, yesterday, last monday or 3 days ago.';

const zeros = {
  users: 0,
  calls: 0,
  failedCalls: 0,
  credits: 0,
  searchCalls: 0,
  searchFailedCalls: 0,
  searchCredits: 0,
  browserCalls: 0,
  browserFailedCalls: 0,
  browserCredits: 0,
};

describe('Find Usage', () => {
  it("totals one user's report per service and result, sending the period in UTC", async () => {
    admin()
      .get('/usage')
      .query({ ...SENT, email: 'Jane@Example.com' })
      .reply(200, [
        row('jane@example.com', 'browser', 'success', 40, 400),
        row('jane@example.com', 'search', 'failure', 3, 0),
        row('jane@example.com', 'search', 'success', 100, 120),
      ]);

    const result = await run(findUsage, adminAuth, { ...JUNE, email: ' Jane@Example.com ' });

    expect(result).toEqual([
      {
        email: 'jane@example.com',
        service: 'all services',
        from: '2025-06-01T05:00:00Z',
        to: '2025-07-01T04:59:59Z',
        users: 1,
        calls: 143,
        failedCalls: 3,
        credits: 520,
        searchCalls: 103,
        searchFailedCalls: 3,
        searchCredits: 120,
        browserCalls: 40,
        browserFailedCalls: 0,
        browserCredits: 400,
      },
    ]);
  });

  it('totals every user when Email is empty, and says so', async () => {
    admin()
      .get('/usage')
      .query(SENT)
      .reply(200, [
        row('ann@example.com', 'search', 'success', 5, 5),
        row('bob@example.com', 'search', 'success', 7, 7),
        row('bob@example.com', 'browser', 'failure', 1, 0),
      ]);

    const result = await run(findUsage, adminAuth, { ...JUNE, email: '  ' });

    expect(result).toEqual([
      expect.objectContaining({
        email: 'all users',
        users: 2,
        calls: 13,
        failedCalls: 1,
        credits: 12,
        browserFailedCalls: 1,
      }),
    ]);
  });

  it('sends the chosen service and reports zeros when there was no usage', async () => {
    admin()
      .get('/usage')
      .query({ ...SENT, service: 'browser' })
      .reply(200, []);

    const result = await run(findUsage, adminAuth, { ...JUNE, service: 'Browser' });

    expect(result).toEqual([
      {
        email: 'all users',
        service: 'browser',
        from: '2025-06-01T05:00:00Z',
        to: '2025-07-01T04:59:59Z',
        ...zeros,
      },
    ]);
  });

  it('counts a service it does not know in the totals only', async () => {
    admin()
      .get('/usage')
      .query(SENT)
      .reply(200, [row('ann@example.com', 'maps', 'success', 2, 8)]);

    const result = await run(findUsage, adminAuth, JUNE);

    expect(result).toEqual([
      expect.objectContaining({ calls: 2, credits: 8, searchCalls: 0, browserCalls: 0 }),
    ]);
  });

  it('reads a date as the whole day, in UTC when the Zap has no time zone', async () => {
    admin()
      .get('/usage')
      .query({ from: '2025-06-01T00:00:00Z', to: '2025-06-02T23:59:59Z', by: 'total' })
      .reply(200, []);

    await expect(
      run(findUsage, adminAuth, { from: '2025-06-01', to: '2025-06-02' }),
    ).resolves.toHaveLength(1);
  });

  it.each([
    [
      'an empty From',
      { from: '' },
      'From: is empty. Type or map a date, such as "2025-06-01" or "yesterday", or a date and time.',
    ],
    [
      'an empty To',
      { to: null },
      'To: is empty. Type or map a date, such as "2025-06-01" or "yesterday", or a date and time.',
    ],
    [
      'a To that does not exist',
      { to: '2025-06-31' },
      `To: "2025-06-31" is not a date or time this step can read. ${REFUSAL}`,
    ],
    ['a number', { to: 12345 }, `To: "12345" is not a date or time this step can read. ${REFUSAL}`],
    [
      'a To before From',
      { from: JUNE.to, to: JUNE.from },
      'To: 2025-06-01T05:00:00Z is not after From (2025-07-01T04:59:59Z); the period must end after it starts.',
    ],
    [
      'a To equal to From, in another zone',
      { from: '2025-06-01T12:00:00+02:00', to: '2025-06-01T10:00:00Z' },
      'To: 2025-06-01T10:00:00Z is not after From (2025-06-01T10:00:00Z); the period must end after it starts.',
    ],
    [
      'a From in the future',
      { from: '2999-01-01T00:00:00Z', to: '2999-02-01T00:00:00Z' },
      'From: 2999-01-01T00:00:00Z is in the future, where there is no usage yet.',
    ],
    [
      'an unknown service',
      { service: 'maps' },
      `Service: "maps" is not one of its choices: Search (search) or Browser (browser). Pick one, or map a field that holds a choice's name or value.`,
    ],
    [
      'an email without a domain',
      { email: 'jane@' },
      'Email: "jane@" is not an email address: it needs one "@" between a name and a domain.',
    ],
  ])('halts on %s before any request', async (_case, change, message) => {
    const error = await failure(run(findUsage, adminAuth, { ...JUNE, ...change }));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(message);
    expect(unmatched).toEqual([]);
  });

  it("halts with the API's own words when it refuses a value (422)", async () => {
    admin()
      .get('/usage')
      .query(SENT)
      .reply(422, 'From must be an ISO datetime', { 'Content-Type': 'text/plain' });

    const error = await failure(run(findUsage, adminAuth, JUNE));

    expect(error.name).toBe('AppError');
    expect(messageOf(error)).toBe(
      'Administration API rejected a value (HTTP 422): From must be an ISO datetime',
    );
  });

  it('reports an answer that is not a usage report', async () => {
    admin()
      .get('/usage')
      .query(SENT)
      .reply(200, [{ email: 'a@b.co', calls: 1 }]);

    const error = await failure(run(findUsage, adminAuth, JUNE));

    expect(messageOf(error)).toBe(
      "The Administration API answered without a usage report (email, service, result, calls and credits per row), which its documentation promises. Check the connection's Base URL.",
    );
  });

  it('fails before any request on Deal.ai, which has no usage report', async () => {
    const error = await failure(run(findUsage, dealaiAuth, JUNE));

    expect(messageOf(error)).toBe(
      'Find Usage works only with an Administration API connection; this connection uses the Deal.ai White Label, which offers Add User, Change Role and Remove User. Use one of those, remove this step, or choose an Administration API connection for it if you have one.',
    );
    expect(unmatched).toEqual([]);
  });
});

describe('Find Usage, From and To as a person means them', () => {
  // Wednesday 4 November 2026, 08:30 in Chicago (UTC-6 since daylight saving ended on 1 November).
  const NOW = Date.parse('2026-11-04T14:30:00Z');
  const CHICAGO = { timezone: 'America/Chicago' };

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Runs Find Usage with `input` delivered as `delivery`, and returns the period it sent. */
  const sent = async (
    delivery: Delivery,
    input: Record<string, unknown>,
    meta: Record<string, unknown> = CHICAGO,
  ): Promise<{ from: string; to: string }> => {
    let query: Record<string, unknown> = {};
    admin()
      .get('/usage')
      .query((params) => {
        query = params;
        return true;
      })
      .reply(200, []);
    const inputData = deliver(delivery, findUsage, input);
    await inApp(performOf(findUsage), { authData: adminAuth, inputData, meta });
    return { from: String(query.from), to: String(query.to) };
  };

  describe.each(DELIVERIES)('%s', (delivery) => {
    it.each([
      ['today to now, before 9 am', 'today', 'now', '2026-11-04T06:00:00Z', '2026-11-04T14:30:00Z'],
      [
        'a date, the day daylight saving ends (25 hours)',
        '2026-11-01',
        '2026-11-01',
        '2026-11-01T05:00:00Z',
        '2026-11-02T05:59:59Z',
      ],
      ['yesterday', 'yesterday', 'yesterday', '2026-11-03T06:00:00Z', '2026-11-04T05:59:59Z'],
      ['last monday', 'last monday', 'Last Monday', '2026-11-02T06:00:00Z', '2026-11-03T05:59:59Z'],
      [
        '3 days ago to today',
        '3 days ago',
        'today',
        '2026-11-01T05:00:00Z',
        '2026-11-05T05:59:59Z',
      ],
      [
        "a time without an offset, in the Zap's time zone",
        '2026-11-03 14:30',
        '2026-11-03T18:00:00',
        '2026-11-03T20:30:00Z',
        '2026-11-04T00:00:00Z',
      ],
      [
        'a time with an offset, exactly',
        '2026-11-03T14:30:00Z',
        '2026-11-03T16:00:00+01:00',
        '2026-11-03T14:30:00Z',
        '2026-11-03T15:00:00Z',
      ],
      ['a Unix timestamp', '1793736000', 'now', '2026-11-03T20:00:00Z', '2026-11-04T14:30:00Z'],
      [
        'a written date',
        'November 2, 2026',
        '3 Nov 2026',
        '2026-11-02T06:00:00Z',
        '2026-11-04T05:59:59Z',
      ],
    ])('reads %s', async (_case, from, to, sentFrom, sentTo) => {
      await expect(sent(delivery, { from, to })).resolves.toEqual({ from: sentFrom, to: sentTo });
    });

    it('names From and quotes it when it cannot be read, before any request', async () => {
      const error = await failure(
        inApp(performOf(findUsage), {
          authData: adminAuth,
          inputData: deliver(delivery, findUsage, { from: 'asdf', to: 'now' }),
          meta: CHICAGO,
        }),
      );

      expect(messageOf(error)).toBe(
        `From: "asdf" is not a date or time this step can read. ${REFUSAL}`,
      );
      expect(unmatched).toEqual([]);
    });
  });

  it('reads the days in UTC when the Zap has no time zone', async () => {
    await expect(sent('as given', { from: 'today', to: 'now' }, {})).resolves.toEqual({
      from: '2026-11-04T00:00:00Z',
      to: '2026-11-04T14:30:00Z',
    });
  });
});
