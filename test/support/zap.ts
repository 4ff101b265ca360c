/**
 * A polling Zap as Zapier runs one: turning it on polls once with `isPopulatingDedupe` and only
 * records the IDs; every later poll fires for the items whose ID it has not seen before.
 * Reference: https://docs.zapier.com/platform/build/deduplication
 */

export type Meta = Record<string, unknown>;

type Item = Record<string, unknown>;

/** Runs the trigger's perform with this `bundle.meta`, as the platform would, and returns its items. */
export type Poller = (meta: Meta) => Promise<unknown>;

export interface Zap {
  /** The first poll: records every ID, fires nothing. Returns what the poll returned. */
  turnOn: () => Promise<Item[]>;
  /** A later poll: the items that run the Zap (IDs not seen before), in the order returned. */
  poll: () => Promise<Item[]>;
  /** Every item of the last poll, fired or not. */
  lastPoll: () => Item[];
}

const itemsOf = (result: unknown): Item[] => {
  if (!Array.isArray(result)) {
    throw new Error(`a polling trigger returns a list, got ${JSON.stringify(result)}`);
  }
  return result.map((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new Error(`a polling trigger returns objects, got ${JSON.stringify(item)}`);
    }
    return Object.fromEntries(Object.entries(item));
  });
};

const idOf = (item: Item): string => {
  const { id } = item;
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new Error(`an item without an id: ${JSON.stringify(item)}`);
  }
  return String(id);
};

export const zapOf = (run: Poller, meta: Meta = {}): Zap => {
  const seen = new Set<string>();
  let last: Item[] = [];
  const poll = async (extra: Meta): Promise<Item[]> => {
    last = itemsOf(await run({ ...meta, ...extra }));
    return last;
  };
  return {
    turnOn: async () => {
      seen.clear();
      const items = await poll({ isPopulatingDedupe: true });
      for (const item of items) {
        seen.add(idOf(item));
      }
      return items;
    },
    poll: async () => {
      const fired: Item[] = [];
      for (const item of await poll({})) {
        const id = idOf(item);
        if (!seen.has(id)) {
          seen.add(id);
          fired.push(item);
        }
      }
      return fired;
    },
    lastPoll: () => last,
  };
};
