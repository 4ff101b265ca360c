import App from '../../index';
import { admin, adminAuth, dealaiAuth, failure, messageOf, run, unmatched } from '../helpers';

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

  it('reads a date without a time or offset as midnight UTC', async () => {
    admin()
      .get('/usage')
      .query({ from: '2025-06-01T00:00:00Z', to: '2025-06-02T00:00:00Z', by: 'total' })
      .reply(200, []);

    await expect(
      run(findUsage, adminAuth, { from: '2025-06-01', to: '2025-06-02' }),
    ).resolves.toHaveLength(1);
  });

  it.each([
    [
      'an empty From',
      { from: '' },
      'From: is empty. Map or type a date and time such as "2025-06-01T00:00:00Z".',
    ],
    [
      'an empty To',
      { to: null },
      'To: is empty. Map or type a date and time such as "2025-06-01T00:00:00Z".',
    ],
    [
      'a From that is not a date',
      { from: 'last Tuesday' },
      'From: "last Tuesday" is not a date and time such as "2025-06-01T09:00:00-05:00" or "2025-06-01".',
    ],
    [
      'a To that does not exist',
      { to: '2025-06-31' },
      'To: "2025-06-31" is not a date and time such as "2025-06-01T09:00:00-05:00" or "2025-06-01".',
    ],
    [
      'a number',
      { to: 1748736000 },
      'To: number is not a date and time such as "2025-06-01T09:00:00-05:00" or "2025-06-01".',
    ],
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
      'Service: "maps" is not a service of the usage report; choose search or browser, or leave it empty.',
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
      'Find Usage works only with an Administration API connection; this connection uses the Deal.ai White Label. Choose a connection of that kind for this step.',
    );
    expect(unmatched).toEqual([]);
  });
});
