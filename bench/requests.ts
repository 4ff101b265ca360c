/**
 * Requests per action: every action and outcome runs through the built zip's handler against the
 * local sandbox of both APIs (sandbox/server.ts), which counts the requests it receives.
 *
 * The floor is one request per action. Two only where the contract leaves no other way: adding
 * credits to an account that does not exist (PATCH answers 404, then POST creates it), and
 * topping up (the balance must be read before the difference can be granted or the account made).
 */
import type { Driver } from '../scripts/driver-client';
import type { Bundle } from '../scripts/zip-driver';
import {
  SANDBOX_ADMIN_TOKEN_DEFAULT,
  SANDBOX_DEALAI_KEY_DEFAULT,
  startSandbox,
} from '../sandbox/server';
import type { Sandbox } from '../sandbox/server';

type ProviderId = 'admin' | 'dealai';

interface Scenario {
  action: string;
  outcome: string;
  provider: ProviderId;
  method: string;
  inputData: Record<string, unknown>;
  seed?: (sandbox: Sandbox) => Promise<void>;
  floor: number;
  expect: (result: unknown) => boolean;
}

export interface RequestCount {
  action: string;
  outcome: string;
  provider: ProviderId;
  requests: number;
  floor: number;
  /** The action answered as the outcome says (e.g. `created: true`). */
  answered: boolean;
  detail: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const field = (result: unknown, key: string): unknown =>
  isRecord(result) ? result[key] : undefined;

const post = async (url: string, headers: Record<string, string>, body: object): Promise<void> => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`seeding ${url} answered ${response.status}: ${await response.text()}`);
  }
};

const adminAccount =
  (email: string, credits: number) =>
  (sandbox: Sandbox): Promise<void> =>
    post(
      `${sandbox.adminBaseUrl}/users`,
      { Authorization: `Bearer ${SANDBOX_ADMIN_TOKEN_DEFAULT}` },
      { email, credits },
    );

const dealaiUser =
  (email: string) =>
  (sandbox: Sandbox): Promise<void> =>
    post(
      `${sandbox.dealaiBaseUrl}/users`,
      { 'Deal-AI-API-Key': SANDBOX_DEALAI_KEY_DEFAULT },
      { firstName: 'Seeded', email },
    );

const ADD = 'creates.add_user.operation.perform';
const FIND = 'searches.find_user.operation.perform';
const PROVISION = 'creates.provision_credits.operation.perform';
const ROLE = 'creates.change_role.operation.perform';
const REMOVE = 'creates.remove_user.operation.perform';

const SCENARIOS: Scenario[] = [
  {
    action: 'connection test',
    outcome: 'valid key',
    provider: 'admin',
    method: 'authentication.test',
    inputData: {},
    floor: 1,
    expect: (result) => typeof field(result, 'email') === 'string',
  },
  {
    action: 'connection test',
    outcome: 'valid key',
    provider: 'dealai',
    method: 'authentication.test',
    inputData: {},
    floor: 1,
    expect: (result) => field(result, 'provider') === 'dealai',
  },
  {
    action: 'add_user',
    outcome: 'new user',
    provider: 'admin',
    method: ADD,
    inputData: { email: 'added@example.com', credits: 10 },
    floor: 1,
    expect: (result) =>
      field(result, 'credits') === 10 && typeof field(result, 'token') === 'string',
  },
  {
    action: 'add_user',
    outcome: 'new user',
    provider: 'dealai',
    method: ADD,
    inputData: {
      firstName: 'Ann',
      lastName: 'Added',
      email: 'added@example.com',
      role: 'Basic Plan',
      sendInviteEmail: 'false',
    },
    floor: 1,
    expect: (result) => field(result, 'email') === 'added@example.com',
  },
  {
    action: 'find_user',
    outcome: 'hit',
    provider: 'admin',
    method: FIND,
    inputData: { email: 'Found@Example.com' },
    seed: adminAccount('found@example.com', 7),
    floor: 1,
    expect: (result) => Array.isArray(result) && result.length === 1,
  },
  {
    action: 'find_user',
    outcome: 'miss',
    provider: 'admin',
    method: FIND,
    inputData: { email: 'nobody@example.com' },
    floor: 1,
    expect: (result) => Array.isArray(result) && result.length === 0,
  },
  {
    action: 'provision_credits add',
    outcome: 'existing account',
    provider: 'admin',
    method: PROVISION,
    inputData: { email: 'add.existing@example.com', credits: 5, mode: 'add' },
    seed: adminAccount('add.existing@example.com', 10),
    floor: 1,
    expect: (result) => field(result, 'credits') === 15 && field(result, 'created') === false,
  },
  {
    action: 'provision_credits add',
    outcome: 'new account (PATCH 404, POST)',
    provider: 'admin',
    method: PROVISION,
    inputData: { email: 'add.new@example.com', credits: 5, mode: 'add' },
    floor: 2,
    expect: (result) => field(result, 'credits') === 5 && field(result, 'created') === true,
  },
  {
    action: 'provision_credits atLeast',
    outcome: 'already enough (GET)',
    provider: 'admin',
    method: PROVISION,
    inputData: { email: 'top.enough@example.com', credits: 50, mode: 'atLeast' },
    seed: adminAccount('top.enough@example.com', 100),
    floor: 1,
    expect: (result) => field(result, 'granted') === 0 && field(result, 'credits') === 100,
  },
  {
    action: 'provision_credits atLeast',
    outcome: 'short (GET, PATCH)',
    provider: 'admin',
    method: PROVISION,
    inputData: { email: 'top.short@example.com', credits: 50, mode: 'atLeast' },
    seed: adminAccount('top.short@example.com', 10),
    floor: 2,
    expect: (result) => field(result, 'granted') === 40 && field(result, 'credits') === 50,
  },
  {
    action: 'provision_credits atLeast',
    outcome: 'new account (GET, POST)',
    provider: 'admin',
    method: PROVISION,
    inputData: { email: 'top.new@example.com', credits: 50, mode: 'atLeast' },
    floor: 2,
    expect: (result) => field(result, 'created') === true && field(result, 'credits') === 50,
  },
  {
    action: 'change_role',
    outcome: 'set role',
    provider: 'dealai',
    method: ROLE,
    inputData: { email: 'role@example.com', role: 'Premium Plan' },
    seed: dealaiUser('role@example.com'),
    floor: 1,
    expect: (result) => field(result, 'role') === 'Premium Plan',
  },
  {
    action: 'remove_user',
    outcome: 'present',
    provider: 'dealai',
    method: REMOVE,
    inputData: { email: 'leaving@example.com' },
    seed: dealaiUser('leaving@example.com'),
    floor: 1,
    expect: (result) => field(result, 'removed') === true,
  },
  {
    action: 'remove_user',
    outcome: 'present',
    provider: 'admin',
    method: REMOVE,
    inputData: { email: 'leaving@example.com' },
    seed: adminAccount('leaving@example.com', 3),
    floor: 1,
    expect: (result) => field(result, 'removed') === true && field(result, 'credits') === 0,
  },
  {
    action: 'remove_user',
    outcome: 'missing, ignoreMissing',
    provider: 'dealai',
    method: REMOVE,
    inputData: { email: 'gone@example.com', ignoreMissing: 'true' },
    floor: 1,
    expect: (result) => field(result, 'removed') === false,
  },
  {
    action: 'remove_user',
    outcome: 'missing, ignoreMissing',
    provider: 'admin',
    method: REMOVE,
    inputData: { email: 'gone@example.com', ignoreMissing: 'true' },
    floor: 1,
    expect: (result) => field(result, 'removed') === false,
  },
];

export const countRequests = async (driver: Driver): Promise<RequestCount[]> => {
  const sandbox = await startSandbox({ port: 0, dbPath: ':memory:' });
  try {
    const authData = (provider: ProviderId): Bundle['authData'] =>
      provider === 'admin'
        ? { provider, apiKey: SANDBOX_ADMIN_TOKEN_DEFAULT, baseUrl: sandbox.adminBaseUrl }
        : { provider, apiKey: SANDBOX_DEALAI_KEY_DEFAULT, baseUrl: sandbox.dealaiBaseUrl };
    const counts: RequestCount[] = [];
    for (const scenario of SCENARIOS) {
      await scenario.seed?.(sandbox);
      sandbox.resetRequestCount();
      const reply = await driver.request({
        op: 'execute',
        method: scenario.method,
        bundle: { authData: authData(scenario.provider), inputData: scenario.inputData },
      });
      const requests = sandbox.requestCount();
      counts.push({
        action: scenario.action,
        outcome: scenario.outcome,
        provider: scenario.provider,
        requests,
        floor: scenario.floor,
        answered: reply.ok && scenario.expect(reply.value),
        detail: reply.ok ? JSON.stringify(reply.value) : reply.error,
      });
    }
    return counts;
  } finally {
    await sandbox.close();
  }
};
