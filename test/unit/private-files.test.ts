/** Files the bridge keeps (issue 19): private modes, and a login data key that always exists. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { preparePrivateFiles } from '../../core/store/private-files.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import { loginId, networkId } from '../../core/ids.js';

const root = mkdtempSync(join(tmpdir(), 'sb-private-'));
after(() => rmSync(root, { recursive: true, force: true }));
const mode = (f: string) => statSync(f).mode & 0o777;

describe('private files', () => {
  it('without a configured key, one is generated once into a 0600 file and used from then on; the new directory is 0700', () => {
    const db = join(root, 'data', 'switchboard.db');
    const first = preparePrivateFiles(db, undefined);
    assert.equal(first.key.source, 'generated');
    assert.equal(mode(join(root, 'data')), 0o700);
    assert.equal(mode(`${db}.key`), 0o600);
    assert.ok(first.key.value.length >= 40);
    const again = preparePrivateFiles(db, undefined);
    assert.deepEqual([again.key.source, again.key.value], ['key-file', first.key.value]);
    assert.equal(preparePrivateFiles(db, 'configured-secret-of-16+').key.source, 'config');
  });

  it('existing database files others could read are made 0600, and a shared directory is warned about', () => {
    const dir = join(root, 'shared');
    rmSync(dir, { recursive: true, force: true });
    const db = join(dir, 'x.db');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755); // mkdirSync's mode is masked by the umask
    writeFileSync(db, '');
    writeFileSync(`${db}-wal`, '');
    chmodSync(db, 0o644);
    chmodSync(`${db}-wal`, 0o644);
    const report = preparePrivateFiles(db, 'configured-secret-of-16+');
    assert.equal(mode(db), 0o600);
    assert.equal(mode(`${db}-wal`), 0o600);
    assert.match(report.warnings.join('\n'), /may be read by other users/);
  });

  it('login data an older version stored as plain JSON is encrypted at start, and its plain text is gone from the files', async () => {
    const db = join(root, 'plain.db');
    const plain = new SqliteStore({ path: db });
    plain.putLogin({ loginId: loginId('l1'), network: networkId('loopback'), kind: 'puppet', data: { storedKey: 'secret-scram-key' } });
    plain.flush();
    await plain.close();
    const sealed = new SqliteStore({ path: db, loginDataKey: 'a-key-of-sixteen-chars' });
    assert.equal(sealed.sealPlainLogins(), 1);
    sealed.flush();
    const raw = (sealed.db.prepare('SELECT data FROM logins').get() as { data: string }).data;
    assert.match(raw, /^v1:/);
    assert.doesNotMatch(raw, /secret-scram-key/);
    assert.deepEqual(sealed.getLogin(loginId('l1'))?.data, { storedKey: 'secret-scram-key' });
    assert.equal(sealed.sealPlainLogins(), 0);
    await sealed.close();
    for (const file of [db, `${db}-wal`]) {
      assert.doesNotMatch(existsSync(file) ? readFileSync(file).toString('latin1') : '', /secret-scram-key/, `not in ${file} either`);
    }
  });
});
