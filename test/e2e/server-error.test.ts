import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import App from '../../index';
import { failure, messageOf } from '../helpers';
import { invoke, useSandbox } from './setup';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-500-'));
const file = path.join(dir, 'sandbox.sqlite');
const { admin, dealai } = useSandbox({ dbPath: file });

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('an API failing on its side (500)', () => {
  it('reports the API words as an error while its database is locked, and works once it is not', async () => {
    const addUser = App.creates.add_user.operation.perform;
    const locker = new DatabaseSync(file);
    try {
      locker.exec('BEGIN EXCLUSIVE');

      const onAdmin = await failure(invoke(addUser, admin(), { email: 'a@example.com' }));
      const onDealai = await failure(
        invoke(addUser, dealai(), { firstName: 'A', email: 'a@example.com' }),
      );

      expect(onAdmin.name).toBe('AppError');
      expect(messageOf(onAdmin)).toBe(
        'Administration API failed on its side (HTTP 500): Unknown error occurred. Try again later.',
      );
      expect(onDealai.name).toBe('AppError');
      expect(messageOf(onDealai)).toBe(
        'Deal.ai White Label failed on its side (HTTP 500): Internal server error. Try again later.',
      );
      locker.exec('ROLLBACK');

      await expect(invoke(addUser, admin(), { email: 'a@example.com' })).resolves.toMatchObject({
        email: 'a@example.com',
      });
    } finally {
      locker.close();
    }
  });
});
