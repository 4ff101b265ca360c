/**
 * Zapier may drop a z.cache write without an error (a set refused for the app's cache rate limit
 * answers false, which src/cache.ts does not pass on). This makes the next writes vanish that way.
 */
import * as cacheModule from '../../src/cache';

export const dropCacheWrites = (count = Number.POSITIVE_INFINITY): void => {
  const openCache = cacheModule.openCache;
  let left = count;
  jest.spyOn(cacheModule, 'openCache').mockImplementation((z, space) => {
    const cache = openCache(z, space);
    return {
      ...cache,
      set: async (name, value, ttlSeconds) => {
        if (left > 0) {
          left -= 1;
          return;
        }
        await cache.set(name, value, ttlSeconds);
      },
    };
  });
};
