import {
  DEFAULT_DB_PATH,
  DEFAULT_HOST,
  DEFAULT_PORT,
  parseCliConfig,
  startupMessage,
  USAGE,
} from '../../tools/sandbox/cli';
import type { Sandbox } from '../../tools/sandbox/server';

function fakeSandbox(url: string): Sandbox {
  return {
    url,
    dealaiBaseUrl: `${url}/api/2024-01/whitelabel`,
    adminBaseUrl: url,
    requestCount: () => 0,
    resetRequestCount: () => undefined,
    zapier: {
      rpcUrl: `${url}/zapier/rpc`,
      logUrl: `${url}/zapier/logs`,
      issueToken: () => 'zt-fake',
      rpcCount: () => 0,
      logLines: () => 0,
      httpLogLines: () => 0,
      cacheWrites: () => ({ count: 0, bytes: 0, largest: 0 }),
      resetCacheWrites: () => undefined,
    },
    takeExchanges: () => [],
    dealaiUser: () => undefined,
    close: () => Promise.resolve(),
  };
}

describe('parseCliConfig', () => {
  it('defaults to 127.0.0.1:4010, ./.tmp/sandbox.sqlite and 600 requests per minute', () => {
    expect(parseCliConfig([], {})).toEqual({
      host: '127.0.0.1',
      port: 4010,
      dbPath: './.tmp/sandbox.sqlite',
      rateLimit: 600,
      help: false,
    });
    expect([DEFAULT_HOST, DEFAULT_PORT, DEFAULT_DB_PATH]).toEqual([
      '127.0.0.1',
      4010,
      './.tmp/sandbox.sqlite',
    ]);
  });

  it('reads the environment', () => {
    expect(
      parseCliConfig([], {
        SANDBOX_PORT: '5000',
        SANDBOX_HOST: '0.0.0.0',
        SANDBOX_DB: '/tmp/x.sqlite',
        SANDBOX_RATE_LIMIT: '30',
      }),
    ).toEqual({ host: '0.0.0.0', port: 5000, dbPath: '/tmp/x.sqlite', rateLimit: 30, help: false });
  });

  it('lets flags win over the environment, and ignores blank values', () => {
    expect(
      parseCliConfig(['--port', '0', '--host', 'localhost', '--db', ':memory:', '--rate', '5'], {
        SANDBOX_PORT: '5000',
        SANDBOX_HOST: ' ',
        SANDBOX_DB: '',
        SANDBOX_RATE_LIMIT: '30',
      }),
    ).toEqual({ host: 'localhost', port: 0, dbPath: ':memory:', rateLimit: 5, help: false });
    expect(parseCliConfig(['--port=4011'], { SANDBOX_HOST: ' ' })).toMatchObject({
      host: '127.0.0.1',
      port: 4011,
    });
  });

  it('recognizes --help', () => {
    expect(parseCliConfig(['--help'], {}).help).toBe(true);
    expect(parseCliConfig(['-h'], {}).help).toBe(true);
    expect(USAGE).toContain('--rate N');
  });

  it.each([
    [['--port', 'abc'], {}, /--port must be an integer from 0 to 65535, got "abc"/],
    [['--port', '70000'], {}, /--port must be an integer/],
    [['--port=-1'], {}, /--port must be an integer/],
    [[], { SANDBOX_PORT: '1.5' }, /--port must be an integer/],
    [['--rate', '0'], {}, /--rate must be an integer from 1/],
    [[], { SANDBOX_RATE_LIMIT: 'many' }, /--rate must be an integer/],
    [['--unknown'], {}, /Unknown option/],
    [['positional'], {}, /positional/],
  ])('rejects %j %j', (argv, env, message) => {
    expect(() => parseCliConfig(argv, env)).toThrow(message);
  });
});

describe('startupMessage', () => {
  const config = parseCliConfig([], {});

  it('says where it listens and how to point each provider’s connection at it', () => {
    const message = startupMessage(fakeSandbox('http://127.0.0.1:4010'), config);
    expect(message).toContain('listening on http://127.0.0.1:4010');
    expect(message).toContain('./.tmp/sandbox.sqlite');
    expect(message).toContain('600 requests per minute');
    expect(message).toMatch(
      /provider: dealai\n\s+API key:\s+sandbox-dealai-key\n\s+base URL: http:\/\/127\.0\.0\.1:4010\/api\/2024-01\/whitelabel\n/,
    );
    expect(message).toContain('POST /sandbox/consume');
    expect(message).toMatch(
      /provider: admin\n\s+token:\s+sandbox-admin-token\n\s+base URL: http:\/\/127\.0\.0\.1:4010\n/,
    );
    expect(message).toContain('Basic Plan, Premium Plan');
  });

  it('points clients at the loopback address when bound to every interface', () => {
    expect(startupMessage(fakeSandbox('http://0.0.0.0:4010'), config)).toContain(
      'base URL: http://127.0.0.1:4010/api/2024-01/whitelabel',
    );
    expect(startupMessage(fakeSandbox('http://[::]:4010'), config)).toContain(
      'base URL: http://[::1]:4010\n',
    );
  });

  it('says when nothing is kept', () => {
    const memory = parseCliConfig(['--db', ':memory:'], {});
    expect(startupMessage(fakeSandbox('http://127.0.0.1:1'), memory)).toContain(
      'in memory (nothing is kept)',
    );
  });
});
