import type { Bundle, ZObject } from 'zapier-platform-core';

import { cacheKey } from '../src/cache';
import { readConnection } from '../src/client';
import {
  MEMORY_TTL_SECONDS,
  REFRESH_MS,
  fingerprint,
  packGroups,
  triggerMemory,
  unpackGroups,
} from '../src/memory';
import { adminAuth, appTester } from './helpers';
import { dropCacheWrites } from './support/cache-faults';

const T0 = Date.parse('2025-06-01T09:00:00Z');
let clock = T0;

beforeEach(async () => {
  clock = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
  await appTester(() => null, {}, true);
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** The one stored value, parsed. */
const only = (): unknown => {
  const text: unknown = Object.values(stored())[0];
  const value: unknown = JSON.parse(String(text));
  return value;
};

const stored = (): Record<string, unknown> => {
  const cache: unknown = Reflect.get(appTester, 'zcacheTestObj');
  return typeof cache === 'object' && cache !== null
    ? Object.fromEntries(Object.entries(cache))
    : {};
};

/** Runs `fn` with a z and the memory of trigger "t", name "n", on the admin connection. */
const withMemory = <T>(
  fn: (memory: ReturnType<typeof triggerMemory>) => Promise<T>,
  meta: Record<string, unknown> = {},
): Promise<T> =>
  appTester(
    (z: ZObject, bundle: Bundle) =>
      fn(triggerMemory(z, bundle, readConnection(z, bundle), 't', 'n')),
    { authData: adminAuth, meta },
  );

describe('fingerprints', () => {
  it('are 8 characters, the same for any case or padding of an email', () => {
    expect(fingerprint(' Jane@Example.COM ')).toBe(fingerprint('jane@example.com'));
    expect(fingerprint('jane@example.com')).toMatch(/^[\w-]{8}$/);
    expect(fingerprint('jane@example.com')).not.toBe(fingerprint('jane@example.org'));
  });

  it('pack into sorted groups per state and unpack to the same map', () => {
    const states = new Map([
      [fingerprint('b@x.io'), 1],
      [fingerprint('a@x.io'), 1],
      [fingerprint('c@x.io'), 2],
    ]);
    const groups = packGroups(states, String);
    const parse = (label: string) => (/^\d$/.test(label) ? Number(label) : undefined);

    expect(Object.keys(groups)).toEqual(['1', '2']);
    expect(groups['1']).toHaveLength(16);
    expect(groups['1']).toBe([fingerprint('a@x.io'), fingerprint('b@x.io')].sort().join(''));
    expect(unpackGroups(groups, parse)).toEqual(states);
    expect(unpackGroups({ 1: 'AAAAAAA' }, parse)).toBeUndefined();
    expect(unpackGroups({ 1: 'AAAAAAA=' }, parse)).toBeUndefined();
    expect(unpackGroups({ x: 'AAAAAAAA' }, parse)).toBeUndefined();
    expect(unpackGroups({ 1: 12345678 }, parse)).toBeUndefined();
    expect(unpackGroups('AAAAAAAA', parse)).toBeUndefined();
    expect(unpackGroups(['AAAAAAAA'], parse)).toBeUndefined();
  });
});

describe('triggerMemory', () => {
  it('keeps one value per trigger, Zap, connection (Base URL) and name, for a week', async () => {
    await withMemory((memory) => memory.save({ a: 1 }, false), { zap: { id: 'zap-42' } });

    const key = cacheKey(['poll', 't', 'admin', 'https://api.agentfirst.dev', 'zap-42'], 'n');
    expect(Object.keys(stored())).toEqual([key]);
    expect(JSON.parse(String(stored()[key]))).toEqual({ at: T0, value: { a: 1 } });
    expect(MEMORY_TTL_SECONDS).toBe(604_800);
  });

  it('reads back what it saved, and nothing for a value it did not write', async () => {
    await withMemory((memory) => memory.save([1, 2], false));
    await expect(withMemory((memory) => memory.load())).resolves.toEqual([1, 2]);

    await appTester(() => null, {}, true);
    await expect(withMemory(async (memory) => (await memory.load()) ?? 'none')).resolves.toBe(
      'none',
    );
  });

  it('skips writing an unchanged value, until it is an hour old', async () => {
    const poll = (value: number) =>
      withMemory(async (memory) => {
        await memory.load();
        return memory.save({ value }, false);
      });
    await poll(1);
    clock = T0 + REFRESH_MS - 1;
    await poll(1);
    const unchanged = only();
    clock = T0 + REFRESH_MS;
    await poll(1);
    const refreshed = only();
    clock += 1;
    await poll(2);
    const changed = only();

    expect(unchanged).toEqual({ at: T0, value: { value: 1 } });
    expect(refreshed).toEqual({ at: T0 + REFRESH_MS, value: { value: 1 } });
    expect(changed).toEqual({ at: T0 + REFRESH_MS + 1, value: { value: 2 } });
  });

  it('confirms a write by reading it back, and says when Zapier dropped it', async () => {
    await expect(withMemory((memory) => memory.save('kept', true))).resolves.toBe(true);

    dropCacheWrites(1);
    clock += 1;
    await expect(withMemory((memory) => memory.save('dropped', true))).resolves.toBe(false);
    await expect(withMemory((memory) => memory.load())).resolves.toBe('kept');
  });
});
