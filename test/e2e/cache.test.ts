/**
 * src/cache.ts through zapier-platform-core's own RPC client (a real invocation with `rpc_base`
 * and `token`) against the sandbox's cache endpoint.
 */
import { openCache } from '../../src/cache';
import { withZ } from '../support/lambda';
import { useSandbox } from './setup';

const { zapier } = useSandbox();

describe('what zapier-platform-core’s own client makes of it (src/cache.ts)', () => {
  it('round-trips JSON, claims once, and deletes, with the scope on every call', async () => {
    const outcome = await withZ(zapier('acct', 'conn'), async (z) => {
      const cache = openCache(z, { scope: ['user', 'auth'], namespace: ['test'] });
      const missing = await cache.get('k');
      const first = await cache.claim('k', { run: 1 }, 60);
      const second = await cache.claim('k', { run: 2 }, 60);
      const stored = await cache.get('k');
      await cache.delete('k');
      const deleted = await cache.get('k');
      return { missing: missing === undefined, first, second, stored, deleted: deleted ?? null };
    });
    expect(outcome).toEqual({
      missing: true,
      first: true,
      second: false,
      stored: { run: 1 },
      deleted: null,
    });
  });

  it('lets one of 20 concurrent invocations claim a key', async () => {
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        withZ(zapier('acct', 'conn'), async (z) => ({
          won: await openCache(z, { scope: ['user', 'auth'], namespace: ['race'] }).claim(
            'k',
            index,
            60,
          ),
        })),
      ),
    );
    expect(claims.filter((claim) => JSON.stringify(claim) === '{"won":true}')).toHaveLength(1);
  });
});
