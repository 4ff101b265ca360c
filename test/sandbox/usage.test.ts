import { SANDBOX_OWNER_EMAIL } from '../../tools/sandbox/server';
import type { Sandbox } from '../../tools/sandbox/server';
import { ADMIN_AUTH, call, startTestSandbox } from './helpers';
import type { ApiResponse } from './helpers';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});

afterAll(async () => {
  await sandbox.close();
});

function admin(method: string, route: string, body?: unknown): Promise<ApiResponse> {
  return call(sandbox.adminBaseUrl, method, route, { headers: ADMIN_AUTH, body });
}

function expectError(response: ApiResponse, status: number, text: string): void {
  expect(response.status).toBe(status);
  expect(response.contentType).toMatch(/^text\/plain/);
  expect(response.text).toBe(text);
}

const usage = (query: Record<string, string | string[]>): Promise<ApiResponse> => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      params.append(key, item);
    }
  }
  return admin('GET', `/usage?${params.toString()}`);
};

const consume = (body: Record<string, unknown>): Promise<ApiResponse> =>
  admin('POST', '/sandbox/consume', body);

const DAY = { from: '2025-12-25T00:00:00Z', to: '2025-12-25T23:59:59Z' };

describe('Sandbox only: POST /sandbox/consume', () => {
  it('lowers the balance and answers what it recorded', async () => {
    await admin('POST', '/users', { email: 'spender@example.com', credits: 100 });

    const response = await consume({
      email: 'Spender@Example.com',
      service: 'search',
      credits: 30,
      calls: 3,
      at: '2025-12-25T10:20:00Z',
    });

    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      email: 'spender@example.com',
      credits: 70,
      consumed: 30,
      calls: 3,
      service: 'search',
      result: 'success',
      hour: '2025-12-25T10:00:00+00:00',
    });
    expect((await admin('GET', '/users?email=spender@example.com')).json()).toEqual([
      { email: 'spender@example.com', credits: 70 },
    ]);
  });

  it('refuses to spend more than the balance (402) and changes nothing', async () => {
    await admin('POST', '/users', { email: 'poor@example.com', credits: 5 });

    expectError(
      await consume({ email: 'poor@example.com', service: 'browser', credits: 6 }),
      402,
      'Credit balance is 5; top up at https://agentfirst.dev/#pricing',
    );
    expect((await admin('GET', '/users?email=poor@example.com')).json()).toEqual([
      { email: 'poor@example.com', credits: 5 },
    ]);
    expect((await usage({ ...DAY, email: 'poor@example.com' })).json()).toEqual([]);
  });

  it("spends the owner's own credits by its email (GET /user)", async () => {
    const response = await consume({ email: SANDBOX_OWNER_EMAIL, service: 'browser', credits: 1 });

    expect(response.json()).toMatchObject({ email: SANDBOX_OWNER_EMAIL, credits: 999_999 });
    expect((await admin('GET', '/user')).json()).toEqual([
      { email: SANDBOX_OWNER_EMAIL, credits: 999_999 },
    ]);
    expectError(
      await consume({ email: SANDBOX_OWNER_EMAIL, service: 'browser', credits: 1_000_000 }),
      402,
      'Credit balance is 999999; top up at https://agentfirst.dev/#pricing',
    );
  });

  it('does not count as a request to the API', async () => {
    const before = sandbox.requestCount();
    await consume({ email: 'spender@example.com', service: 'search', credits: 0 });
    expect(sandbox.requestCount()).toBe(before);
  });

  it('answers 404 for an unknown account', async () => {
    expectError(
      await consume({ email: 'nobody@example.com', service: 'search', credits: 1 }),
      404,
      'Email is nonexistent',
    );
  });
});

describe('Sandbox only: POST /sandbox/accounts', () => {
  it('creates many accounts at once, skipping existing emails', async () => {
    const response = await admin('POST', '/sandbox/accounts', {
      accounts: [
        { email: 'Bulk-1@example.com', credits: 10 },
        { email: 'bulk-2@example.com' },
        { email: 'bulk-1@example.com', credits: 99 },
      ],
    });

    expect(response.status).toBe(201);
    expect(response.json()).toEqual({ created: 2 });
    expect(
      (await admin('GET', '/users?email=bulk-1@example.com&email=bulk-2@example.com')).json(),
    ).toEqual([
      { email: 'bulk-1@example.com', credits: 10 },
      { email: 'bulk-2@example.com', credits: 0 },
    ]);
  });
});

describe('GET /usage', () => {
  beforeAll(async () => {
    await admin('POST', '/users', { email: 'ann@example.com', credits: 1000 });
    await admin('POST', '/users', { email: 'bob@example.com', credits: 1000 });
    const spend = [
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 10,
        calls: 2,
        secs: 1.5,
        at: '2025-12-25T09:05:00Z',
      },
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 5,
        calls: 1,
        secs: 3,
        at: '2025-12-25T09:55:00Z',
      },
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 0,
        calls: 1,
        failed: true,
        at: '2025-12-25T11:00:00Z',
      },
      {
        email: 'ann@example.com',
        service: 'browser',
        credits: 20,
        calls: 4,
        at: '2025-12-25T11:30:00Z',
      },
      {
        email: 'bob@example.com',
        service: 'browser',
        credits: 7,
        calls: 1,
        at: '2025-12-25T12:00:00-06:00',
      },
      {
        email: 'ann@example.com',
        service: 'search',
        credits: 1,
        calls: 1,
        at: '2025-12-26T00:00:00Z',
      },
    ];
    for (const body of spend) {
      expect((await consume(body)).status).toBe(200);
    }
  });

  it('totals the period per email, service and result by default, with first and last hour', async () => {
    const response = await usage({ ...DAY, email: 'ann@example.com' });

    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json/);
    expect(response.json()).toEqual([
      {
        email: 'ann@example.com',
        from: '2025-12-25T11:00:00+00:00',
        to: '2025-12-25T11:00:00+00:00',
        service: 'browser',
        result: 'success',
        calls: 4,
        credits: 20,
        meanSecs: 1,
      },
      {
        email: 'ann@example.com',
        from: '2025-12-25T11:00:00+00:00',
        to: '2025-12-25T11:00:00+00:00',
        service: 'search',
        result: 'failure',
        calls: 1,
        credits: 0,
        meanSecs: 1,
      },
      {
        email: 'ann@example.com',
        from: '2025-12-25T09:00:00+00:00',
        to: '2025-12-25T09:00:00+00:00',
        service: 'search',
        result: 'success',
        calls: 3,
        credits: 15,
        meanSecs: 2,
      },
    ]);
  });

  it('reports hourly rows with by=hour', async () => {
    const response = await usage({
      ...DAY,
      email: 'ann@example.com',
      service: 'search',
      by: 'hour',
    });

    expect(response.json()).toEqual([
      expect.objectContaining({
        from: '2025-12-25T09:00:00+00:00',
        to: '2025-12-25T09:00:00+00:00',
        result: 'success',
        calls: 3,
      }),
      expect.objectContaining({
        from: '2025-12-25T11:00:00+00:00',
        result: 'failure',
        calls: 1,
      }),
    ]);
  });

  it('covers every account without an email, and repeated emails and services', async () => {
    const all = await usage({ ...DAY, service: 'browser' });
    expect(all.json()).toEqual([
      expect.objectContaining({ email: 'ann@example.com', service: 'browser', credits: 20 }),
      expect.objectContaining({ email: 'bob@example.com', service: 'browser', credits: 7 }),
    ]);
    const both = await usage({
      from: '2025-12-25T00:00:00Z',
      to: '2025-12-26T23:00:00Z',
      email: ['BOB@example.com', 'ann@example.com'],
      service: ['search', 'browser'],
    });
    expect(both.json()).toHaveLength(4);
  });

  it('counts an hour that overlaps the period, and reads offsets', async () => {
    // 09:30 falls inside the 09:00 hour; Bob's 12:00-06:00 is 18:00 UTC, after 9:00-06:00.
    const late = await usage({ from: '2025-12-25T09:30:00Z', to: '2025-12-25T09:30:00Z' });
    expect(late.json()).toEqual([expect.objectContaining({ email: 'ann@example.com', calls: 3 })]);
    // The API's own example writes the hour with one digit.
    const bob = await usage({ from: '2025-12-25T9:00:00-06:00', to: '2025-12-25T12:59:59-06:00' });
    expect(bob.json()).toEqual([
      expect.objectContaining({ email: 'bob@example.com', from: '2025-12-25T18:00:00+00:00' }),
    ]);
  });

  it('answers an empty report for an unknown email or a quiet period', async () => {
    expect((await usage({ ...DAY, email: 'nobody@example.com' })).json()).toEqual([]);
    expect((await usage({ from: '2020-01-01', to: '2020-12-31' })).json()).toEqual([]);
  });

  it.each([
    ['no from', { to: DAY.to }, 'From must be provided'],
    ['an empty from', { from: '', to: DAY.to }, 'From must be provided'],
    ['a bad from', { from: 'yesterday', to: DAY.to }, 'From must be an ISO datetime'],
    ['two froms', { from: [DAY.from, DAY.from], to: DAY.to }, 'From must be an ISO datetime'],
    ['no to', { from: DAY.from }, 'To must be provided'],
    ['a bad to', { from: DAY.from, to: '2025-02-30' }, 'To must be an ISO datetime'],
    ['to before from', { from: DAY.to, to: DAY.from }, 'To must not be before From'],
    ['an unknown service', { ...DAY, service: 'email' }, 'Service must be search or browser'],
    ['a planned grouping', { ...DAY, by: 'day' }, 'By must be hour or total'],
    ['a bad email', { ...DAY, email: 'nope' }, 'Email must be a valid address'],
  ])('answers 422 for %s', async (_case, query, text) => {
    expectError(await usage(query), 422, text);
  });
});
