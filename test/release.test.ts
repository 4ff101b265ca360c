import path from 'node:path';

import { appLinkOf, parseReleaseArgs, zipsOf } from '../tools/release';

describe('npm run release: its arguments', () => {
  it('releases the whole integration by default, for real', () => {
    expect(parseReleaseArgs([])).toEqual({ provider: undefined, dryRun: false });
    expect(parseReleaseArgs(['--dry-run'])).toEqual({ provider: undefined, dryRun: true });
  });

  it('takes an edition by provider, in either spelling', () => {
    expect(parseReleaseArgs(['--provider', 'dealai'])).toEqual({
      provider: 'dealai',
      dryRun: false,
    });
    expect(parseReleaseArgs(['--provider=admin', '--dry-run'])).toEqual({
      provider: 'admin',
      dryRun: true,
    });
  });

  it.each([
    [['--provider', 'acme'], 'Unknown provider "acme": --provider takes dealai or admin.'],
    [['--provider'], 'Unknown provider "": --provider takes dealai or admin.'],
    [['--provider='], 'Unknown provider "": --provider takes dealai or admin.'],
    [['--force'], 'Unknown argument "--force": use --provider <id> or --dry-run.'],
  ])('refuses %j before building anything', (args, message) => {
    expect(() => parseReleaseArgs(args)).toThrow(message);
  });

  it("uploads the edition's own zips, which build:zip -- --provider writes", () => {
    expect(path.basename(path.dirname(zipsOf('dealai').build))).toBe('dealai');
    expect(path.basename(zipsOf('dealai').source)).toBe('source.zip');
    expect(path.basename(zipsOf(undefined).build)).toBe('build.zip');
  });
});

describe('npm run release: which Zapier app', () => {
  const rc = {
    includeInBuild: [],
    id: 101,
    key: 'App101',
    editions: { dealai: { id: 202, key: 'App202' } },
  };

  it('reads the app from .zapierapprc, an edition from its editions entry', () => {
    expect(appLinkOf(rc, undefined)).toEqual({ id: 101, key: 'App101' });
    expect(appLinkOf(rc, 'dealai')).toEqual({ id: 202, key: 'App202' });
  });

  it('finds none for an app or edition not registered yet', () => {
    expect(appLinkOf(rc, 'admin')).toBeUndefined();
    expect(appLinkOf({ includeInBuild: [] }, undefined)).toBeUndefined();
    expect(appLinkOf({ editions: [] }, 'dealai')).toBeUndefined();
  });
});
