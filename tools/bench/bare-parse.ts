/**
 * The CPU yardstick of the poll bench (tools/bench/triggers.ts), run in a fresh Node 22 process: a bare
 * fetch of GET /users and JSON.parse of the answer, nothing else. Prints one JSON line: CPU
 * milliseconds of the fetch and the parse, peak RSS in kilobytes, the answer's bytes and length.
 *
 * Usage: node dist/tools/bench/bare-parse.js <url> <bearer token>
 */
import { peakRssKb } from '../harness';

const main = async (): Promise<void> => {
  const [url, token] = process.argv.slice(2);
  if (url === undefined || token === undefined) {
    throw new Error('usage: bare-parse.js <url> <bearer token>');
  }
  const before = process.cpuUsage();
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  const data: unknown = JSON.parse(text);
  const { user, system } = process.cpuUsage(before);
  process.stdout.write(
    `${JSON.stringify({
      cpuMs: (user + system) / 1000,
      maxRssKb: peakRssKb(),
      bytes: Buffer.byteLength(text),
      length: Array.isArray(data) ? data.length : -1,
    })}\n`,
  );
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
