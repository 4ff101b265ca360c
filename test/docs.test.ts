/**
 * docs/reference/ is generated from the definition by `npm run docs` (tools/docs.ts): this test
 * fails when a page on disk differs from what the definition gives today, or when a page is
 * missing or left over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import App from '../index';
import { REFERENCE_DIR, render } from '../tools/docs';

const dir = path.join(__dirname, '..', REFERENCE_DIR);

describe('docs/reference (npm run docs)', () => {
  it('holds exactly the pages the definition gives, each as generated', async () => {
    const pages = await render();
    expect(fs.readdirSync(dir).sort()).toEqual([...pages.keys()].sort());
    for (const [file, content] of pages) {
      // A failure here means the definition changed: run `npm run docs` and commit the pages.
      expect({ file, content: fs.readFileSync(path.join(dir, file), 'utf8') }).toEqual({
        file,
        content,
      });
    }
  });

  it('follows the definition: a changed label changes the pages', async () => {
    const before = (await render()).get('admin.md');
    const display = App.creates.add_user.display;
    const label = display.label;
    display.label = 'Add Someone';
    try {
      const after = (await render()).get('admin.md');
      expect(after).not.toEqual(before);
      expect(after).toContain('## Add Someone (`creates.add_user`)');
    } finally {
      display.label = label;
    }
  });
});
