/**
 * What the polling triggers remember between polls, in bounded memory and bounded cache values,
 * at any number of accounts (the bench polls 1,000,000):
 *
 * - Each account is a 48-bit fingerprint of its email (never the email itself), a whole number
 *   held in a Float64Array: 8 bytes an account in memory, 8 base64url characters in the cache.
 * - A trigger's memory is a {@link PrintTable}: the fingerprints sorted, each with a state (a
 *   number). It is built while the list of accounts streams in ({@link PrintTableBuilder}).
 * - It is stored by {@link tableMemory}: in one cache value while small, else split into pieces
 *   by fingerprint range, with a small overlay of recent changes in the head value, so that a
 *   poll that changes little writes little. See docs/lambda.md.
 */
import type { Bundle, ZObject } from 'zapier-platform-core';

import { openCache } from './cache';
import type { Cache, Json } from './cache';
import type { Connection } from './client';
import { isRecord } from './records';

/** Emails are case-insensitive on the admin API; this is the form IDs and fingerprints use. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export const FINGERPRINT_BITS = 48;
const SPAN = 2 ** FINGERPRINT_BITS;
const LOW = 2 ** 32;

/**
 * A 48-bit fingerprint of the normalized email: cyrb53 (a public-domain multiply-xorshift hash of
 * two 32-bit lanes, by bryc), cut to 48 bits. It is not cryptographic, and need not be: nothing
 * trusts it against an adversary, and it is the cheapest we found (167 ms for 1,000,000 emails,
 * normalization included, against 276 ms for SHA-256 through node:crypto). Treated as uniform, the chance that a new account shares the
 * fingerprint of one of 10,000,000 others (and so never fires) is 10^7 / 2^48, about 1 in 28
 * million per new account.
 */
export const emailPrint = (email: string): number => {
  const text = normalizeEmail(email);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 & 0xffff) * LOW + (h1 >>> 0);
};

/** How a trigger turns its per-account state into a number (a code) and a group label. */
export interface Codec<T> {
  encode: (state: T) => number;
  decode: (code: number) => T;
  /** The label of a code's group in the cache; `parse` reads it back (undefined: not ours). */
  label: (code: number) => string;
  parse: (label: string) => number | undefined;
}

/** Anything that gives the previous state of a fingerprint: a PrintTable, or a Map in tests. */
export interface PrintLookup<T> {
  get: (print: number) => T | undefined;
  /** True when that fingerprint's part of the memory was lost: treat it as a fresh start. */
  isLost?: (print: number) => boolean;
}

/** A fingerprint range [from, to) whose piece of the memory could not be read. */
export type LostRange = readonly [number, number];

/** Fingerprints, sorted and unique, each with the code of its state. */
export class PrintTable<T> implements PrintLookup<T> {
  constructor(
    readonly prints: Float64Array,
    readonly codes: Float64Array,
    readonly codec: Codec<T>,
    readonly lost: readonly LostRange[] = [],
  ) {}

  get size(): number {
    return this.prints.length;
  }

  /** The position of `print`, or -1. */
  indexOf(print: number): number {
    let low = 0;
    let high = this.prints.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = Number(this.prints[middle]);
      if (value < print) {
        low = middle + 1;
      } else if (value > print) {
        high = middle - 1;
      } else {
        return middle;
      }
    }
    return -1;
  }

  get(print: number): T | undefined {
    const at = this.indexOf(print);
    return at < 0 ? undefined : this.codec.decode(Number(this.codes[at]));
  }

  isLost(print: number): boolean {
    return this.lost.some(([from, to]) => print >= from && print < to);
  }

  values(): T[] {
    return Array.from(this.codes, (code) => this.codec.decode(code));
  }
}

const EMPTY = -1;

/**
 * A growing open-addressing table of fingerprint → code, for one poll: it tells an account
 * listed twice, and becomes the sorted PrintTable the poll leaves behind.
 */
export class PrintTableBuilder<T> {
  private keys: Float64Array;
  private values: Float64Array;
  private count = 0;

  /** `expected`: about how many entries it will hold, so that it need not grow on the way. */
  constructor(
    readonly codec: Codec<T>,
    expected = 0,
  ) {
    let capacity = 1024;
    while (capacity < expected * 2) {
      capacity *= 2;
    }
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.values = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  private slot(print: number): number {
    const mask = this.keys.length - 1;
    // The low 32 bits of a fingerprint are already well mixed.
    let slot = (print >>> 0) & mask;
    while (this.keys[slot] !== EMPTY && this.keys[slot] !== print) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  has(print: number): boolean {
    return this.keys[this.slot(print)] === print;
  }

  set(print: number, code: number): void {
    let slot = this.slot(print);
    if (this.keys[slot] !== print) {
      if ((this.count + 1) * 2 > this.keys.length) {
        this.grow();
        slot = this.slot(print);
      }
      this.keys[slot] = print;
      this.count += 1;
    }
    this.values[slot] = code;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Float64Array(keys.length * 2).fill(EMPTY);
    this.values = new Float64Array(keys.length * 2);
    for (let at = 0; at < keys.length; at += 1) {
      const key = Number(keys[at]);
      if (key !== EMPTY) {
        const slot = this.slot(key);
        this.keys[slot] = key;
        this.values[slot] = Number(values[at]);
      }
    }
  }

  build(lost: readonly LostRange[] = []): PrintTable<T> {
    const prints = new Float64Array(this.count);
    let next = 0;
    for (const key of this.keys) {
      if (key !== EMPTY) {
        prints[next] = key;
        next += 1;
      }
    }
    prints.sort();
    const codes = new Float64Array(this.count);
    prints.forEach((print, at) => {
      codes[at] = Number(this.values[this.slot(print)]);
    });
    return new PrintTable(prints, codes, this.codec, lost);
  }
}

/**
 * The first `size` of everything added, in `order` (ties in the order added), as sorting the whole
 * lot and slicing would give, holding at most twice `size` at a time.
 */
export class TopK<T> {
  private items: T[] = [];
  private worst: T | undefined;

  constructor(
    private readonly size: number,
    private readonly order: (a: T, b: T) => number,
  ) {}

  add(item: T): void {
    // Once full, an item that sorts at or after the last kept one can never make the cut.
    if (this.worst !== undefined && this.order(item, this.worst) >= 0) {
      return;
    }
    this.items.push(item);
    if (this.items.length >= this.size * 2) {
      this.cut();
    }
  }

  private cut(): void {
    this.items = this.items.sort(this.order).slice(0, this.size);
    this.worst = this.items.length === this.size ? this.items.at(-1) : undefined;
  }

  take(): T[] {
    this.cut();
    return this.items;
  }
}

/** Fingerprints grouped by the label of their state, as `{label: "<fp><fp>..."}`. */
export type Groups = Record<string, string>;

const PRINT_BYTES = 6;
const PRINT_CHARS = 8;
/** The label of a removal in an overlay (see tableMemory). */
const GONE = 'x';
const GONE_CODE = -1;

/** Entries [from, to) of `table` grouped by label, each group in fingerprint order. */
export const packGroups = <T>(
  table: { prints: Float64Array; codes: Float64Array },
  codec: Codec<T>,
  from = 0,
  to = table.prints.length,
): Groups => {
  const counts = new Map<number, number>();
  for (let at = from; at < to; at += 1) {
    const code = Number(table.codes[at]);
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  const bytes = new Map<number, { buffer: Buffer; filled: number }>();
  for (const [code, count] of counts) {
    bytes.set(code, { buffer: Buffer.alloc(count * PRINT_BYTES), filled: 0 });
  }
  for (let at = from; at < to; at += 1) {
    const group = bytes.get(Number(table.codes[at]));
    const print = Number(table.prints[at]);
    if (group !== undefined) {
      group.buffer.writeUIntBE(print, group.filled, PRINT_BYTES);
      group.filled += PRINT_BYTES;
    }
  }
  const labelled = [...bytes].map(([code, group]): [string, string] => [
    code === GONE_CODE ? GONE : codec.label(code),
    group.buffer.toString('base64url'),
  ]);
  return Object.fromEntries(labelled.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
};

// Checked as characters and length apart: a regular expression of 8-character groups is far
// slower on the megabytes of a large memory.
const PRINT_TEXT = /^[\w-]*$/;

/**
 * The table `groups` holds (as packGroups writes it), each label read by `codec.parse`, and
 * removals (label "x") only where `removals` allows them; `undefined` when it is not ours.
 */
export const unpackGroups = <T>(
  groups: unknown,
  codec: Codec<T>,
  removals = false,
): PrintTable<T> | undefined => {
  if (typeof groups !== 'object' || groups === null || Array.isArray(groups)) {
    return undefined;
  }
  const decoded: { code: number; prints: Float64Array }[] = [];
  for (const [label, prints] of Object.entries(groups)) {
    const code = removals && label === GONE ? GONE_CODE : codec.parse(label);
    if (
      code === undefined ||
      typeof prints !== 'string' ||
      prints.length % PRINT_CHARS !== 0 ||
      !PRINT_TEXT.test(prints)
    ) {
      return undefined;
    }
    const buffer = Buffer.from(prints, 'base64url');
    const values = new Float64Array(buffer.length / PRINT_BYTES);
    for (let at = 0; at < values.length; at += 1) {
      values[at] = buffer.readUIntBE(at * PRINT_BYTES, PRINT_BYTES);
    }
    decoded.push({ code, prints: values });
  }
  const only = decoded.length === 1 ? decoded[0] : undefined;
  // One group, as packGroups writes it (ascending): the table as it is, without sorting.
  if (
    only !== undefined &&
    only.prints.every((print, at) => at === 0 || print > Number(only.prints[at - 1]))
  ) {
    return new PrintTable(only.prints, new Float64Array(only.prints.length).fill(only.code), codec);
  }
  const builder = new PrintTableBuilder(codec);
  for (const { code, prints } of decoded) {
    for (const print of prints) {
      builder.set(print, code);
    }
  }
  return builder.build();
};

/** `base` with `overlay`'s entries put over it: a code replaces, a removal ("x") deletes. */
const applyOverlay = <T>(base: PrintTable<T>, overlay: PrintTable<T>): PrintTable<T> => {
  if (overlay.size === 0) {
    return base;
  }
  const prints = new Float64Array(base.size + overlay.size);
  const codes = new Float64Array(base.size + overlay.size);
  let count = 0;
  let a = 0;
  let b = 0;
  while (a < base.size || b < overlay.size) {
    const left = a < base.size ? Number(base.prints[a]) : Number.POSITIVE_INFINITY;
    const right = b < overlay.size ? Number(overlay.prints[b]) : Number.POSITIVE_INFINITY;
    if (left < right) {
      prints[count] = left;
      codes[count] = Number(base.codes[a]);
      count += 1;
      a += 1;
    } else {
      const code = Number(overlay.codes[b]);
      if (code !== GONE_CODE) {
        prints[count] = right;
        codes[count] = code;
        count += 1;
      }
      a += left === right ? 1 : 0;
      b += 1;
    }
  }
  return new PrintTable(prints.subarray(0, count), codes.subarray(0, count), base.codec, base.lost);
};

/** What `next` changed against `base`: new and changed codes, and removals ("x"). */
const overlayOf = <T>(base: PrintTable<T>, next: PrintTable<T>): PrintTable<T> => {
  const prints: number[] = [];
  const codes: number[] = [];
  let a = 0;
  let b = 0;
  while (a < base.size || b < next.size) {
    const left = a < base.size ? Number(base.prints[a]) : Number.POSITIVE_INFINITY;
    const right = b < next.size ? Number(next.prints[b]) : Number.POSITIVE_INFINITY;
    if (left < right) {
      prints.push(left);
      codes.push(GONE_CODE);
      a += 1;
    } else if (right < left) {
      prints.push(right);
      codes.push(Number(next.codes[b]));
      b += 1;
    } else {
      if (base.codes[a] !== next.codes[b]) {
        prints.push(right);
        codes.push(Number(next.codes[b]));
      }
      a += 1;
      b += 1;
    }
  }
  return new PrintTable(Float64Array.from(prints), Float64Array.from(codes), base.codec);
};

/** `value[key]` when `value` is an object, else `undefined`: for reading back stored memory. */
export const propertyOf = (value: unknown, key: string): unknown =>
  isRecord(value) ? value[key] : undefined;

/** A flag of `bundle.meta` (isLoadingSample, isPopulatingDedupe), false when meta is absent. */
export const metaFlag = (bundle: Bundle, flag: string): boolean =>
  propertyOf(bundle.meta, flag) === true;

/** How long an unused memory lives: a Zap that polls keeps it fresh (see REFRESH_MS). */
export const MEMORY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * An unchanged head value is written again after this long, so that it never nears its TTL (and a
 * platform cap on TTLs shorter than ours, which Zapier does not document, would have to be under
 * an hour to matter). Between refreshes, unchanged memory costs no write at all.
 */
export const REFRESH_MS = 3600 * 1000;

/** A memory this small (packed) stays in the head value: most sites need one cache value. */
export const INLINE_CHARS = 48 * 1024;
/** Pieces are cut to about this size, and cut again once one passes PIECE_MAX_CHARS. */
const PIECE_TARGET_CHARS = 32 * 1024;
/**
 * The largest piece: the most a poll that finds nothing new may write is one refreshed value,
 * and Zapier's cache RPC has a body limit it does not publish (about 1 MiB in the sandbox).
 */
export const PIECE_MAX_CHARS = 64 * 1024;
/** Recent changes kept in the head (about 16 KB) before the pieces are rewritten. */
export const OVERLAY_MAX = 2_000;
/** A piece unchanged for this long is written again, one piece per poll at most. */
export const PIECE_REFRESH_MS = 24 * 3600 * 1000;
/** More pieces than this is not a memory we wrote (10,000,000 accounts take about 2,500). */
const MAX_PIECES = 65_536;
/** Cache calls in flight at once. */
const PARALLEL = 8;

const inParallel = async <T, R>(items: readonly T[], run: (item: T) => Promise<R>) => {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next;
      next += 1;
      results[at] = await run(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
};

/** One stored value with its write time, and its text to compare the next one with. */
interface Slot {
  at: number;
  value: unknown;
  text: string;
}

const readSlot = async (cache: Cache, name: string): Promise<Slot | undefined> => {
  const stored = await cache.get(name);
  const at = propertyOf(stored, 'at');
  const value = propertyOf(stored, 'value');
  return typeof at === 'number' ? { at, value, text: JSON.stringify(value) } : undefined;
};

/** What is kept of a piece once read: when it was written, and a digest of its text. */
interface PieceSlot {
  at: number;
  digest: number;
}

/** A digest of a piece's text, to tell whether a rewrite would change it (cyrb53 as above). */
const digestOf = (text: string): number => emailPrint(text);

/** The first index of `table` at or above fingerprint `bound`. */
const lowerBound = (prints: Float64Array, bound: number): number => {
  let low = 0;
  let high = prints.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Number(prints[middle]) < bound) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
};

/** The fingerprint range of piece `index` of `count`. */
const pieceRange = (index: number, count: number): LostRange => [
  Math.floor((index * SPAN) / count),
  index + 1 === count ? SPAN : Math.floor(((index + 1) * SPAN) / count),
];

/** A trigger's table as the last poll left it, with what saving the next one needs. */
export interface LoadedTable<T> {
  /** The head value's other fields (such as Credits Running Low's `last`). */
  head: Record<string, unknown>;
  /** The memory: pieces and overlay together, with the ranges of lost pieces. */
  table: PrintTable<T>;
  /** @internal what tableMemory compares against */
  stored: { slot: Slot; pieces: (PieceSlot | undefined)[]; base?: PrintTable<T> };
}

export interface SaveReport {
  /** Whether everything is known to be stored (read back when confirming). */
  saved: boolean;
  /** Values written, and their bytes (JSON text of the values). */
  writes: number;
  bytes: number;
}

export interface TableMemory<T> {
  /** The table the last poll stored, or undefined (never stored, expired, lost or not ours). */
  load: () => Promise<LoadedTable<T> | undefined>;
  /**
   * Stores `table` with the head fields `head`, writing only what changed against `loaded`.
   * With `confirm` every written value is read back (Zapier may drop a write without an error).
   */
  save: (
    table: PrintTable<T>,
    head: Record<string, Json>,
    loaded: LoadedTable<T> | undefined,
    confirm: boolean,
  ) => Promise<SaveReport>;
}

/**
 * The memory of a trigger that keeps a PrintTable, for this Zap (bundle.meta.zap.id) on this
 * connection (the cache's `auth` scope, and the Base URL, so that a connection moved to another
 * site starts afresh), under `name` (what else tells memories apart, such as the threshold). The head value `name` holds `{v: 2, pieces, [field]: Groups, ...}`:
 *
 * - `pieces: 0`: the whole table, in `field`. A table of up to INLINE_CHARS (about 6,000 accounts)
 *   takes one value, as before.
 * - `pieces: n`: the table is split into n pieces by fingerprint range, `name:n.<k>`, each about
 *   PIECE_TARGET_CHARS, and `field` holds an overlay: the entries that changed since the pieces
 *   were written (a removal is labelled "x"). While the overlay is under OVERLAY_MAX entries a
 *   poll writes the head only; past that, the pieces that changed are rewritten and the overlay
 *   emptied. A piece passing PIECE_MAX_CHARS makes the table split anew.
 *
 * A piece that cannot be read is lost alone: its fingerprint range is reported in `table.lost`,
 * and the trigger treats those accounts as at a fresh start (known, firing nothing). The head
 * lost is the whole memory lost.
 */
export const tableMemory = <T>(
  z: ZObject,
  bundle: Bundle,
  connection: Connection,
  trigger: string,
  name: string,
  field: string,
  codec: Codec<T>,
): TableMemory<T> => {
  // Read before any request, where the app tester may pass no meta at all.
  const id = propertyOf(propertyOf(bundle.meta, 'zap'), 'id');
  const zap = typeof id === 'string' || typeof id === 'number' ? String(id) : 'no-zap';
  const cache = openCache(z, {
    scope: ['auth'],
    namespace: ['poll', trigger, connection.provider.id, connection.baseUrl, zap],
  });
  const pieceName = (count: number, index: number) => `${name}:${String(count)}.${String(index)}`;

  const load = async (): Promise<LoadedTable<T> | undefined> => {
    const slot = await readSlot(cache, name);
    const value = slot?.value;
    const pieces = propertyOf(value, 'pieces');
    if (
      slot === undefined ||
      propertyOf(value, 'v') !== 2 ||
      typeof pieces !== 'number' ||
      !Number.isSafeInteger(pieces) ||
      pieces < 0 ||
      pieces > MAX_PIECES
    ) {
      return undefined;
    }
    const head = isRecord(value)
      ? Object.fromEntries(
          Object.entries(value).filter(([key]) => !['v', 'pieces', field].includes(key)),
        )
      : {};
    const own = unpackGroups(propertyOf(value, field), codec, pieces > 0);
    if (own === undefined) {
      return undefined;
    }
    if (pieces === 0) {
      return { head, table: own, stored: { slot, pieces: [] } };
    }
    const slots = await inParallel(
      Array.from({ length: pieces }, (_, index) => index),
      async (index) => readSlot(cache, pieceName(pieces, index)),
    );
    const lost: LostRange[] = [];
    const tables: PrintTable<T>[] = [];
    // Only the write time and a digest of each piece are kept, not its text.
    const kept = slots.map((piece, index): PieceSlot | undefined => {
      const table = piece === undefined ? undefined : unpackGroups(piece.value, codec);
      const [from, to] = pieceRange(index, pieces);
      if (
        piece === undefined ||
        table === undefined ||
        table.prints.some((print) => print < from || print >= to)
      ) {
        lost.push([from, to]);
        return undefined;
      }
      tables.push(table);
      return { at: piece.at, digest: digestOf(piece.text) };
    });
    // Each piece is sorted and holds its own range, in order: together they are sorted.
    const size = tables.reduce((sum, table) => sum + table.size, 0);
    const prints = new Float64Array(size);
    const codes = new Float64Array(size);
    let filled = 0;
    for (const table of tables) {
      prints.set(table.prints, filled);
      codes.set(table.codes, filled);
      filled += table.size;
    }
    const base = new PrintTable(prints, codes, codec, lost);
    return { head, table: applyOverlay(base, own), stored: { slot, pieces: kept, base } };
  };

  const save = async (
    table: PrintTable<T>,
    head: Record<string, Json>,
    loaded: LoadedTable<T> | undefined,
    confirm: boolean,
  ): Promise<SaveReport> => {
    const now = Date.now();
    const writes: { name: string; value: Json; text: string }[] = [];
    const put = (key: string, value: Json) => {
      writes.push({ name: key, value, text: JSON.stringify(value) });
    };
    const headOf = (pieces: number, groups: Groups): Json => ({
      v: 2,
      ...head,
      pieces,
      [field]: groups,
    });
    const stored = loaded?.stored;
    const pieces = stored === undefined ? 0 : propertyOf(stored.slot.value, 'pieces');
    const count = typeof pieces === 'number' ? pieces : 0;
    const estimate = table.size * PRINT_CHARS;

    /** The groups of piece `index` of `of`: the table's fingerprints in that piece's range. */
    const pieceGroups = (index: number, of: number) => {
      const [from, to] = pieceRange(index, of);
      return packGroups(table, codec, lowerBound(table.prints, from), lowerBound(table.prints, to));
    };
    /** Every piece of a fresh split, then the head with an empty overlay. */
    const split = (): void => {
      const next = Math.max(1, Math.ceil(estimate / PIECE_TARGET_CHARS));
      for (let index = 0; index < next; index += 1) {
        put(pieceName(next, index), pieceGroups(index, next));
      }
      put(name, headOf(next, {}));
    };
    /**
     * Rewrites the pieces that changed (or were lost); splits anew when one grew too big or the
     * table shrank to a quarter of what its pieces were cut for, and goes back to one value when
     * it fits in one.
     */
    const compact = (): void => {
      if (estimate <= INLINE_CHARS) {
        put(name, headOf(0, packGroups(table, codec)));
        return;
      }
      if (Math.ceil(estimate / PIECE_TARGET_CHARS) * 4 < count) {
        split();
        return;
      }
      const rewritten: { name: string; value: Json }[] = [];
      for (let index = 0; index < count; index += 1) {
        const groups = pieceGroups(index, count);
        const text = JSON.stringify(groups);
        if (text.length > PIECE_MAX_CHARS) {
          split();
          return;
        }
        if (stored?.pieces[index]?.digest !== digestOf(text)) {
          rewritten.push({ name: pieceName(count, index), value: groups });
        }
      }
      rewritten.forEach(({ name: key, value }) => {
        put(key, value);
      });
      put(name, headOf(count, {}));
    };

    if (stored === undefined || count === 0) {
      const groups = packGroups(table, codec);
      const value = headOf(0, groups);
      if (JSON.stringify(groups).length > INLINE_CHARS) {
        split();
      } else if (
        stored?.slot.text !== JSON.stringify(value) ||
        now - stored.slot.at >= REFRESH_MS
      ) {
        put(name, value);
      }
    } else {
      const base = stored.base ?? table;
      const overlay = overlayOf(base, table);
      if (base.lost.length > 0 || overlay.size > OVERLAY_MAX) {
        compact();
      } else {
        const value = headOf(count, packGroups(overlay, codec));
        const headAge = now - stored.slot.at;
        // Nothing changed: refresh the piece written longest ago when it is due, or the head. One
        // value a poll at most; the head, due hourly, waits one more hour for a piece.
        let oldest = -1;
        stored.pieces.forEach((piece, index) => {
          const at = piece?.at ?? Number.POSITIVE_INFINITY;
          if (
            now - at >= PIECE_REFRESH_MS &&
            (oldest < 0 || at < (stored.pieces[oldest]?.at ?? 0))
          ) {
            oldest = index;
          }
        });
        if (stored.slot.text !== JSON.stringify(value)) {
          put(name, value);
        } else if (oldest >= 0 && headAge < 2 * REFRESH_MS) {
          const [from, to] = pieceRange(oldest, count);
          put(
            pieceName(count, oldest),
            packGroups(base, codec, lowerBound(base.prints, from), lowerBound(base.prints, to)),
          );
        } else if (headAge >= REFRESH_MS) {
          put(name, value);
        }
      }
    }

    // Pieces first, the head last: a head never names pieces that were not written.
    const values = writes.map((write) => ({ ...write, stored: { at: now, value: write.value } }));
    const last = values.pop();
    const store = async (write: (typeof values)[number]) => {
      await cache.set(write.name, write.stored, MEMORY_TTL_SECONDS);
    };
    await inParallel(values, store);
    if (last !== undefined) {
      await store(last);
    }
    const all = last === undefined ? values : [...values, last];
    const bytes = all.reduce(
      (sum, write) => sum + Buffer.byteLength(JSON.stringify(write.stored)),
      0,
    );
    if (!confirm) {
      return { saved: true, writes: all.length, bytes };
    }
    const checks = await inParallel(all, async (write) => {
      const back = await readSlot(cache, write.name);
      return back?.at === now && back.text === write.text;
    });
    return { saved: checks.every(Boolean), writes: all.length, bytes };
  };

  return { load, save };
};
