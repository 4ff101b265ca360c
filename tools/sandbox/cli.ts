/**
 * `npm run sandbox`: runs the local sandbox of both white-label admin APIs until SIGINT/SIGTERM.
 *
 *   --port N    (env SANDBOX_PORT, default 4010; 0 picks a free port)
 *   --host H    (env SANDBOX_HOST, default 127.0.0.1)
 *   --db PATH   (env SANDBOX_DB, default ./.tmp/sandbox.sqlite; ':memory:' keeps nothing)
 *   --rate N    (env SANDBOX_RATE_LIMIT, default 600: requests per minute per provider and key)
 */
import { parseArgs } from 'node:util';
import {
  DEALAI_PREFIX,
  DEFAULT_RATE_LIMIT,
  DEFAULT_ROLES,
  SANDBOX_ADMIN_TOKEN,
  SANDBOX_DEALAI_KEY,
  SANDBOX_ONLY_PREFIX,
  SANDBOX_OWNER_EMAIL,
  startSandbox,
} from './server';
import type { Sandbox } from './server';

const DEFAULT_PORT = 4010;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_DB_PATH = './.tmp/sandbox.sqlite';
const RATE_WINDOW_MS = 60_000;

interface CliConfig {
  host: string;
  port: number;
  dbPath: string;
  /** Requests per minute, per provider and credential. */
  rateLimit: number;
  help: boolean;
}

const USAGE = `Usage: npm run sandbox -- [--port N] [--host H] [--db PATH] [--rate N]

  --port N   port to listen on (env SANDBOX_PORT, default ${DEFAULT_PORT}; 0 picks a free port)
  --host H   interface to bind (env SANDBOX_HOST, default ${DEFAULT_HOST})
  --db PATH  SQLite file (env SANDBOX_DB, default ${DEFAULT_DB_PATH}; ':memory:' keeps nothing)
  --rate N   requests per minute per provider and key before 429 (env SANDBOX_RATE_LIMIT, default ${DEFAULT_RATE_LIMIT.max})
`;

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integerSetting(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Flags win over environment variables, which win over the defaults. Throws on invalid values. */
function parseCliConfig(argv: string[], env: NodeJS.ProcessEnv): CliConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = nonBlank(values.port) ?? nonBlank(env.SANDBOX_PORT);
  const rate = nonBlank(values.rate) ?? nonBlank(env.SANDBOX_RATE_LIMIT);
  return {
    host: nonBlank(values.host) ?? nonBlank(env.SANDBOX_HOST) ?? DEFAULT_HOST,
    port: port === undefined ? DEFAULT_PORT : integerSetting('--port', port, 0, 65_535),
    dbPath: nonBlank(values.db) ?? nonBlank(env.SANDBOX_DB) ?? DEFAULT_DB_PATH,
    rateLimit:
      rate === undefined
        ? DEFAULT_RATE_LIMIT.max
        : integerSetting('--rate', rate, 1, Number.MAX_SAFE_INTEGER),
    help: values.help ?? false,
  };
}

/** The URL clients should use: a wildcard bind address is reached through the loopback one. */
function clientUrl(sandbox: Sandbox): string {
  const url = new URL(sandbox.url);
  if (url.hostname === '0.0.0.0') {
    url.hostname = '127.0.0.1';
  } else if (url.hostname === '[::]') {
    url.hostname = '[::1]';
  }
  return url.origin;
}

/** What the CLI prints on start: where it listens and how to point a connection at it. */
function startupMessage(sandbox: Sandbox, config: CliConfig): string {
  const base = clientUrl(sandbox);
  const database = config.dbPath === ':memory:' ? 'in memory (nothing is kept)' : config.dbPath;
  return [
    `White-label sandbox listening on ${sandbox.url}`,
    `  database:   ${database}`,
    `  rate limit: ${config.rateLimit} requests per minute per provider and key`,
    '',
    'Deal.ai white label — connection settings:',
    '  provider: dealai',
    `  API key:  ${SANDBOX_DEALAI_KEY}`,
    `  base URL: ${base}${DEALAI_PREFIX}`,
    `  roles:    ${DEFAULT_ROLES.join(', ')}`,
    '',
    'Agent First-style administration — connection settings:',
    '  provider: admin',
    `  token:    ${SANDBOX_ADMIN_TOKEN}`,
    `  base URL: ${base}`,
    `  owner:    ${SANDBOX_OWNER_EMAIL} (GET /user)`,
    '',
    `Sandbox only (no real API has these; same token), under ${SANDBOX_ONLY_PREFIX}/:`,
    `  POST ${SANDBOX_ONLY_PREFIX}/consume  {email, service, credits[, calls, failed, secs, at]} spends credits; GET /usage reports them`,
    `  POST ${SANDBOX_ONLY_PREFIX}/accounts {accounts: [{email, credits}]} adds many accounts at once`,
    '',
    'Press Ctrl+C to stop.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCliConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (config.help) {
    process.stdout.write(USAGE);
    return;
  }
  const sandbox = await startSandbox({
    host: config.host,
    port: config.port,
    dbPath: config.dbPath,
    rateLimit: { max: config.rateLimit, windowMs: RATE_WINDOW_MS },
  });
  process.stdout.write(startupMessage(sandbox, config));

  const shutdown = (signal: NodeJS.Signals): void => {
    process.stdout.write(`\n${signal} received; shutting down.\n`);
    sandbox.close().then(
      () => {
        process.stdout.write('Sandbox stopped.\n');
      },
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`Sandbox failed to start: ${String(error)}\n`);
    process.exitCode = 1;
  });
}
