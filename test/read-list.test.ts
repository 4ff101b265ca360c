/**
 * readList (src/client.ts): a JSON list read from a stream of chunks, one element at a time.
 * Api.each and the triggers' tests cover it over HTTP; these cover the chunks themselves.
 */
import { NotAList, readList } from '../src/client';

async function* chunks(...parts: unknown[]): AsyncGenerator {
  for (const part of parts) {
    await Promise.resolve();
    yield typeof part === 'string' ? Buffer.from(part) : part;
  }
}

const read = async (body: AsyncIterable<unknown>): Promise<unknown[]> => {
  const items: unknown[] = [];
  await readList(body, (item) => {
    items.push(item);
  });
  return items;
};

describe('readList', () => {
  it('hands over each element, whatever the chunks cut through', async () => {
    const text = JSON.stringify([
      { email: 'a@b.co', credits: 1 },
      { email: 'ü@b.co', credits: 2 },
    ]);
    const bytes = Buffer.from(text);
    const oneByteEach = Array.from(bytes, (byte) => Buffer.from([byte]));

    await expect(read(chunks(...oneByteEach))).resolves.toEqual(JSON.parse(text));
  });

  it('takes text chunks, and whitespace before the list across chunks', async () => {
    async function* text(): AsyncGenerator {
      await Promise.resolve();
      yield ' \n';
      yield '\t[1, 2]\n';
    }

    await expect(read(text())).resolves.toEqual([1, 2]);
  });

  it.each([
    ['an object', ['{"a":[1]}']],
    ['a list cut short', ['[1,', '2']],
    ['nothing', []],
    ['only spaces', ['  ', '\n']],
    ['two lists', ['[1]', '[2]']],
    ['a list and more', ['[1] x']],
    ['not JSON', ['[1,,2]']],
  ])('refuses %s as not a list', async (_case, parts) => {
    await expect(read(chunks(...parts))).rejects.toBeInstanceOf(NotAList);
  });

  it('refuses chunks that are not bytes', async () => {
    await expect(read(chunks(42))).rejects.toThrow('not bytes');
  });

  it('passes on the first error of onItem, and hands over nothing after it', async () => {
    const seen: unknown[] = [];
    const failing = readList(chunks('[1,2,3]'), (item) => {
      seen.push(item);
      if (item === 2) {
        throw new RangeError('two is too many');
      }
    });

    await expect(failing).rejects.toThrow(new RangeError('two is too many'));
    expect(seen).toEqual([1, 2]);
  });

  it('wraps what onItem throws that is not an Error', async () => {
    const failing = readList(chunks('[1]'), () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what is being tested
      throw 'a string';
    });

    await expect(failing).rejects.toThrow('a string');
  });

  it('reports a stream that fails, as distinct from a list that is wrong', async () => {
    async function* broken(): AsyncGenerator {
      await Promise.resolve();
      yield Buffer.from('[1,');
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    async function* brokenOddly() {
      yield* [];
      await Promise.resolve();
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what is being tested
      throw 'gone';
    }

    const error: unknown = await read(broken()).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ name: 'StreamFailure', message: 'socket hang up' });
    expect(error).not.toBeInstanceOf(NotAList);
    await expect(read(brokenOddly())).rejects.toMatchObject({ message: 'gone' });
  });
});
