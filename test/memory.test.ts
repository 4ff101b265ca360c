import type { Bundle, ZObject } from 'zapier-platform-core';

import { cacheKey } from '../src/cache';
import { readConnection } from '../src/client';
import {
  FINGERPRINT_BITS,
  INLINE_CHARS,
  MEMORY_TTL_SECONDS,
  OVERLAY_MAX,
  PIECE_MAX_CHARS,
  PIECE_REFRESH_MS,
  PrintTable,
  PrintTableBuilder,
  REFRESH_MS,
  TopK,
  emailPrint,
  packGroups,
  tableMemory,
  unpackGroups,
} from '../src/memory';
import type { Codec, LoadedTable, SaveReport, TableMemory } from '../src/memory';
import { adminAuth, cached, withZ } from './helpers';
import { dropCacheWrites } from './support/cache-faults';

const T0 = Date.parse('2025-06-01T09:00:00Z');
let clock = T0;

beforeEach(() => {
  clock = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** Every stored value, parsed, by key. */
const stored = (): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(cached()).map(([key, text]): [string, unknown] => [
      key,
      JSON.parse(String(text)),
    ]),
  );

const SPACE = ['poll', 't', 'admin', 'https://api.agentfirst.dev', 'zap-42'];
const keyOf = (name: string) => cacheKey(SPACE, name);

/** A state of 0 to 3, as New User keeps. */
const COUNT: Codec<number> = {
  encode: (state) => state,
  decode: (code) => code,
  label: String,
  parse: (label) => (/^[0-3]$/.test(label) ? Number(label) : undefined),
};

/** A table of `size` made-up accounts, `state(index)` each. */
const tableOf = (size: number, state: (index: number) => number = () => 3) => {
  const builder = new PrintTableBuilder(COUNT);
  for (let index = 0; index < size; index += 1) {
    builder.set(emailPrint(`user${String(index)}@example.com`), state(index));
  }
  return builder.build();
};

const ZAP_META: Record<string, unknown> = { zap: { id: 'zap-42' } };

/** Runs `fn` with the table memory of trigger "t", name "n", on the admin connection. */
const withStore = <R>(fn: (memory: TableMemory<number>) => Promise<R>): Promise<R> =>
  withZ(
    (z: ZObject, bundle: Bundle) =>
      fn(tableMemory(z, bundle, readConnection(z, bundle), 't', 'n', 'accounts', COUNT)),
    { authData: adminAuth, meta: ZAP_META },
  );

/** One poll: load what is there, save `table`; what was loaded and what the save did. */
const poll = (
  table: PrintTable<number>,
  confirm = false,
): Promise<{ loaded: LoadedTable<number> | undefined; report: SaveReport }> =>
  withStore(async (memory) => {
    const loaded = await memory.load();
    return { loaded, report: await memory.save(table, { extra: 1 }, loaded, confirm) };
  });

const load = () => withStore((memory) => memory.load());

describe('fingerprints', () => {
  it('are 48-bit whole numbers, the same for any case or padding of an email', () => {
    const print = emailPrint('jane@example.com');

    expect(emailPrint(' Jane@Example.COM ')).toBe(print);
    expect(Number.isSafeInteger(print) && print >= 0 && print < 2 ** FINGERPRINT_BITS).toBe(true);
    expect(emailPrint('jane@example.org')).not.toBe(print);
  });

  it('spread evenly: 100,000 emails give no shared fingerprint and fill every range', () => {
    const prints = new Set<number>();
    const ranges = new Array<number>(16).fill(0);
    for (let index = 0; index < 100_000; index += 1) {
      const print = emailPrint(`user${String(index)}@example.com`);
      prints.add(print);
      const range = Math.floor(print / 2 ** (FINGERPRINT_BITS - 4));
      ranges[range] = (ranges[range] ?? 0) + 1;
    }

    expect(prints.size).toBe(100_000);
    for (const count of ranges) {
      expect(Math.abs(count - 6250)).toBeLessThan(400);
    }
  });
});

describe('PrintTable', () => {
  it('builds sorted and unique, finds each entry, and grows past its first size', () => {
    const builder = new PrintTableBuilder(COUNT);
    for (let index = 0; index < 5000; index += 1) {
      builder.set(index * 7919 + 1, index % 4);
    }
    builder.set(1, 2);
    const table = builder.build();

    expect(builder.size).toBe(5000);
    expect(table.size).toBe(5000);
    expect(
      [...table.prints].every((print, at) => at === 0 || print > (table.prints[at - 1] ?? 0)),
    ).toBe(true);
    expect(table.get(1)).toBe(2);
    expect(table.get(7919 * 4999 + 1)).toBe(4999 % 4);
    expect(table.get(2)).toBeUndefined();
    expect(table.values()).toHaveLength(5000);
  });

  it('packs into groups of 8 characters per account by state, and unpacks to the same table', () => {
    const table = tableOf(1000, (index) => index % 2);
    const groups = packGroups(table, COUNT);

    expect(Object.keys(groups)).toEqual(['0', '1']);
    expect(groups['0']).toHaveLength(500 * 8);
    expect(unpackGroups(groups, COUNT)).toEqual(table);
    expect(unpackGroups({ 1: 'AAAAAAA' }, COUNT)).toBeUndefined();
    expect(unpackGroups({ 1: 'AAAAAAA=' }, COUNT)).toBeUndefined();
    expect(unpackGroups({ 7: 'AAAAAAAA' }, COUNT)).toBeUndefined();
    expect(unpackGroups({ x: 'AAAAAAAA' }, COUNT)).toBeUndefined();
    expect(unpackGroups({ 1: 12345678 }, COUNT)).toBeUndefined();
    expect(unpackGroups('AAAAAAAA', COUNT)).toBeUndefined();
    expect(unpackGroups(['AAAAAAAA'], COUNT)).toBeUndefined();
  });

  it('reports lost fingerprint ranges', () => {
    const table = new PrintTable(new Float64Array(), new Float64Array(), COUNT, [[10, 20]]);

    expect([table.isLost(9), table.isLost(10), table.isLost(19), table.isLost(20)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });
});

describe('TopK', () => {
  it('keeps the first of everything added, as sorting all and slicing would', () => {
    const order = (a: { key: number }, b: { key: number }) => a.key - b.key;
    const items = Array.from({ length: 10_000 }, (_, index) => ({
      key: (index * 7_919) % 1_013,
      index,
    }));
    const top = new TopK(100, order);
    items.forEach((item) => {
      top.add(item);
    });

    expect(top.take()).toEqual([...items].sort(order).slice(0, 100));
  });
});

describe('tableMemory', () => {
  it('keeps a small table in one value per trigger, Zap, connection (Base URL) and name, for a week', async () => {
    const table = tableOf(100);
    const { report } = await poll(table);

    expect(Object.keys(stored())).toEqual([keyOf('n')]);
    expect(stored()[keyOf('n')]).toEqual({
      at: T0,
      value: { v: 2, extra: 1, pieces: 0, accounts: packGroups(table, COUNT) },
    });
    expect(report.writes).toBe(1);
    expect(MEMORY_TTL_SECONDS).toBe(604_800);
    const loaded = await load();
    expect(loaded?.table).toEqual(table);
    expect(loaded?.head).toEqual({ extra: 1 });
  });

  it('reads nothing for a value it did not write, or one of another version', async () => {
    await expect(load()).resolves.toBeUndefined();

    await poll(tableOf(10));
    // The previous release's format (SHA-256 fingerprints) reads as no memory: a fresh start.
    Reflect.set(cached(), keyOf('n'), JSON.stringify({ at: T0, value: { v: 1, accounts: {} } }));
    await expect(load()).resolves.toBeUndefined();
  });

  it('skips writing an unchanged value, until it is an hour old', async () => {
    const table = tableOf(10);
    await poll(table);
    clock = T0 + REFRESH_MS - 1;
    const unchanged = await poll(table);
    clock = T0 + REFRESH_MS;
    const refreshed = await poll(table);
    clock += 1;
    const changed = await poll(tableOf(11));

    expect([unchanged, refreshed, changed].map(({ report }) => report.writes)).toEqual([0, 1, 1]);
  });

  it('confirms a write by reading it back, and says when Zapier dropped it', async () => {
    expect((await poll(tableOf(5), true)).report.saved).toBe(true);

    dropCacheWrites(1);
    clock += 1;
    expect((await poll(tableOf(6), true)).report.saved).toBe(false);
    expect((await load())?.table.size).toBe(5);
  });

  describe('a large table', () => {
    // About 160 KB packed: five pieces.
    const SIZE = 20_000;

    it('splits into pieces by fingerprint range, none near the limits, and reads back the same', async () => {
      const table = tableOf(SIZE);
      const { report } = await poll(table);

      const values = Object.entries(stored());
      expect(values.length).toBeGreaterThan(4);
      expect(report.writes).toBe(values.length);
      for (const [, value] of values) {
        expect(JSON.stringify(value).length).toBeLessThan(PIECE_MAX_CHARS);
      }
      expect(stored()[keyOf('n')]).toEqual({
        at: T0,
        value: { v: 2, extra: 1, pieces: values.length - 1, accounts: {} },
      });
      expect((await load())?.table).toEqual(table);
      expect(JSON.stringify(packGroups(table, COUNT)).length).toBeGreaterThan(INLINE_CHARS);
    });

    it('writes only the head for a few changes, and nothing when nothing changed', async () => {
      await poll(tableOf(SIZE));
      const before = stored();
      clock += 1000;
      const grown = tableOf(SIZE + 10, (index) => (index >= SIZE ? 0 : 3));
      const { report } = await poll(grown);
      const quiet = await poll(grown);

      expect(report.writes).toBe(1);
      expect(report.bytes).toBeLessThan(1000);
      const after = stored();
      const changed = Object.keys(after).filter(
        (key) => JSON.stringify(after[key]) !== JSON.stringify(before[key]),
      );
      expect(changed).toEqual([keyOf('n')]);
      expect((await load())?.table).toEqual(grown);
      expect(quiet.report).toEqual({ saved: true, writes: 0, bytes: 0 });
    });

    it('rewrites the pieces once the changes pass the overlay, and removes accounts', async () => {
      await poll(tableOf(SIZE));
      const shrunk = tableOf(SIZE - OVERLAY_MAX - 1);
      const { report } = await poll(shrunk);

      expect(report.writes).toBe(Object.keys(stored()).length);
      expect(stored()[keyOf('n')]).toMatchObject({ value: { accounts: {} } });
      expect((await load())?.table).toEqual(shrunk);
    });

    it('goes back to one value when the table shrinks to fit, and splits anew when it grows', async () => {
      await poll(tableOf(SIZE));
      const small = tableOf(100);
      await poll(small);

      expect(stored()[keyOf('n')]).toMatchObject({ value: { pieces: 0 } });
      expect((await load())?.table).toEqual(small);
      const big = tableOf(SIZE * 2);
      await poll(big);
      expect(stored()[keyOf('n')]).toMatchObject({ value: { pieces: 10, accounts: {} } });
      expect((await load())?.table).toEqual(big);
    });

    it('reads a head naming an absurd number of pieces as no memory', async () => {
      Reflect.set(
        cached(),
        keyOf('n'),
        JSON.stringify({ at: T0, value: { v: 2, pieces: 10 ** 9, accounts: {} } }),
      );

      await expect(load()).resolves.toBeUndefined();
    });

    it('refreshes one piece a day while nothing changes, within 64 KB a poll', async () => {
      const table = tableOf(SIZE);
      await poll(table);
      const pieces = Object.keys(stored()).length - 1;
      const writes: number[] = [];
      const bytes: number[] = [];
      for (let hour = 1; hour <= 26 + 2 * pieces; hour += 1) {
        clock = T0 + hour * REFRESH_MS - 1;
        const { report } = await poll(table);
        writes.push(report.writes);
        bytes.push(report.bytes);
      }

      expect(writes.every((count) => count <= 1)).toBe(true);
      expect(Math.max(...bytes)).toBeLessThanOrEqual(64 * 1024);
      const ages = Object.values(stored()).map(
        (value) =>
          clock -
          Number(typeof value === 'object' && value !== null ? Reflect.get(value, 'at') : 0),
      );
      expect(Math.max(...ages)).toBeLessThan(PIECE_REFRESH_MS);
      expect((await load())?.table).toEqual(table);
    });

    it('loses one piece alone: its range is reported lost, and the next save repairs it', async () => {
      const table = tableOf(SIZE);
      await poll(table);
      const piece = cacheKey(SPACE, 'n:5.2');
      expect(Object.keys(stored())).toContain(piece);
      Reflect.deleteProperty(cached(), piece);

      const { loaded, report } = await poll(table);

      expect(loaded?.table.lost).toEqual([
        [Math.floor((2 * 2 ** 48) / 5), Math.floor((3 * 2 ** 48) / 5)],
      ]);
      const kept = loaded?.table.size ?? 0;
      expect(kept).toBeLessThan(SIZE);
      expect(kept).toBeGreaterThan(SIZE * 0.7);
      expect(report.writes).toBe(2);
      expect((await load())?.table).toEqual(table);
    });
  });
});
