import App from '../../index';
import { postAsOwner } from '../../tools/sandbox/server';
import { failure, messageOf } from '../helpers';
import { invoke, useSandbox } from './setup';

const { admin, sandbox } = useSandbox();
const findUsage = App.searches.find_usage;

const post = (route: string, body: object) => postAsOwner(sandbox(), route, body);

describe('Find Usage, end to end', () => {
  beforeAll(async () => {
    await post('/users', { email: 'ann@example.com', credits: 500 });
    await post('/users', { email: 'bob@example.com', credits: 500 });
    const spend = [
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 30,
        calls: 3,
        at: '2025-06-10T08:15:00Z',
      },
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 0,
        calls: 2,
        failed: true,
        at: '2025-06-10T09:00:00Z',
      },
      {
        email: 'ann@example.com',
        service: 'browser',
        credits: 50,
        calls: 5,
        at: '2025-06-11T10:00:00Z',
      },
      {
        email: 'bob@example.com',
        service: 'browser',
        credits: 20,
        calls: 1,
        at: '2025-06-12T10:00:00Z',
      },
      // June 30, 19:00 at -05:00: To is inclusive, so the first search below counts it.
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 99,
        calls: 9,
        at: '2025-07-01T00:00:00Z',
      },
    ];
    for (const body of spend) {
      await post('/sandbox/consume', body);
    }
  });

  it("totals one user's spending in the period, per service", async () => {
    const result = await invoke(findUsage.operation.perform, admin(), {
      email: 'ANN@example.com',
      from: '2025-06-01T00:00:00-05:00',
      to: '2025-06-30T19:00:00-05:00',
    });

    expect(result).toEqual([
      {
        email: 'ann@example.com',
        service: 'all services',
        from: '2025-06-01T05:00:00Z',
        to: '2025-07-01T00:00:00Z',
        users: 1,
        calls: 19,
        failedCalls: 2,
        credits: 179,
        searchCalls: 14,
        searchFailedCalls: 2,
        searchCredits: 129,
        browserCalls: 5,
        browserFailedCalls: 0,
        browserCredits: 50,
      },
    ]);
  });

  it('totals every user for one service, in one request', async () => {
    const before = sandbox().requestCount();

    const result = await invoke(findUsage.operation.perform, admin(), {
      from: '2025-06-01',
      to: '2025-06-30T23:59:59Z',
      service: 'browser',
    });

    expect(result).toEqual([
      expect.objectContaining({
        email: 'all users',
        service: 'browser',
        users: 2,
        calls: 6,
        credits: 70,
        searchCalls: 0,
        browserCredits: 70,
      }),
    ]);
    expect(sandbox().requestCount() - before).toBe(1);
  });

  it('halts on a period that ends before it starts, before any request', async () => {
    const before = sandbox().requestCount();

    const error = await failure(
      invoke(findUsage.operation.perform, admin(), { from: '2025-06-30', to: '2025-06-01' }),
    );

    // A date To ends at the last second of its day; a date From starts at its first.
    expect(messageOf(error)).toBe(
      'To: 2025-06-01T23:59:59Z is not after From (2025-06-30T00:00:00Z); the period must end after it starts.',
    );
    expect(sandbox().requestCount()).toBe(before);
  });
});
