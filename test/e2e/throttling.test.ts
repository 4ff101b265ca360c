import App from '../../index';
import { failure, throttleOf } from '../helpers';
import { invoke, useSandbox } from './setup';

const { admin, sandbox } = useSandbox({ rateLimit: { max: 3, windowMs: 60_000 } });

describe('a throttled burst', () => {
  it('turns the API 429 into a throttle Zapier retries after Retry-After', async () => {
    const find = () =>
      invoke(App.searches.find_user.operation.perform, admin(), { email: 'a@example.com' });
    await find();
    await find();
    await find();

    const error = await failure(find());

    expect(error.name).toBe('ThrottledError');
    const { message, delay } = throttleOf(error);
    if (delay === null) {
      throw new Error('expected a delay');
    }
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(60);
    expect(message).toBe(
      `Administration API is limiting the request rate (HTTP 429): Rate limit was exceeded; please retry in ${String(delay)} seconds. Zapier will retry in ${String(delay)} seconds.`,
    );
    expect(sandbox().requestCount()).toBe(4);
  });
});
