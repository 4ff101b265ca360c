import { engines } from '../package.json';

describe('the runtime', () => {
  it('runs the tests on Node 22, as Zapier runs core 19 apps, whatever Node the host has', () => {
    expect(engines.node).toBe('22');
    expect(process.versions.node).toMatch(/^22\./);
  });
});
