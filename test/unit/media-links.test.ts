import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MEDIA_PREFIX, MediaLinks, parseMxc, safeFileName } from '../../core/media/links.js';

const settings = { url: 'https://bridge.example.org/_switchboard/media/', signingKey: 'a-signing-key-of-some-length', expirySeconds: 0 };
const pathOf = (link: string) => new URL(link).pathname.slice(MEDIA_PREFIX.length);

describe('public media links', () => {
  it('a link the bridge made verifies to its media; the file name is kept, made safe', () => {
    const links = new MediaLinks(settings);
    const link = links.link('mxc://example.org/AbC_123-x', 'holiday photo.png')!;
    assert.match(link, /^https:\/\/bridge\.example\.org\/_switchboard\/media\/v1\/example\.org\/AbC_123-x\/0\/[A-Za-z0-9_-]{32}\/holiday%20photo\.png$/);
    assert.deepEqual(links.verify(pathOf(link)), { mxc: 'mxc://example.org/AbC_123-x', name: 'holiday photo.png' });
    assert.equal(links.link('https://example.org/x', 'x'), undefined, 'only mxc URIs');
    assert.equal(links.link('mxc://example.org/../etc', 'x'), undefined);
    assert.equal(safeFileName('../../etc/passwd'), '.._.._etc_passwd');
    assert.equal(safeFileName('a"b\r\nc'), 'a_b__c');
    assert.equal(safeFileName('  '), 'file');
  });

  it('a changed media id, server, expiry or signature, another key, or a malformed path verifies to nothing', () => {
    const links = new MediaLinks(settings);
    const path = pathOf(links.link('mxc://example.org/media1', 'a.png')!);
    const parts = path.split('/');
    const swap = (i: number, v: string) => parts.map((p, j) => (j === i ? v : p)).join('/');
    assert.equal(links.verify(swap(3, 'media2')), undefined);
    assert.equal(links.verify(swap(2, 'evil.org')), undefined);
    assert.equal(links.verify(swap(4, '99999999999')), undefined);
    assert.equal(links.verify(swap(5, 'A'.repeat(32))), undefined);
    assert.equal(links.verify(swap(6, 'other-name.exe'))?.name, 'other-name.exe', 'the name is not signed: it only labels the download');
    assert.equal(new MediaLinks({ ...settings, signingKey: 'another-key-of-some-length' }).verify(path), undefined);
    for (const bad of ['', '/', '/v1', '/v2/example.org/media1/0/sig/a', `${path}/extra`, '/v1/example.org/media1/-1/sig/a', '/v1/example.org/media1/01/sig/a', '/v1/%E0%A4%A/m/0/s/a']) {
      assert.equal(links.verify(bad), undefined, bad);
    }
  });

  it('links with an expiry stop working after it', () => {
    let now = Date.parse('2026-11-26T12:00:00Z');
    const links = new MediaLinks({ ...settings, expirySeconds: 3600 }, () => now);
    const path = pathOf(links.link('mxc://example.org/media1', 'a.png')!);
    now += 3599_000;
    assert.ok(links.verify(path));
    now += 2_000;
    assert.equal(links.verify(path), undefined);
  });

  it('mxc URIs are read by the spec grammar', () => {
    assert.deepEqual(parseMxc('mxc://[::1]:8448/abc'), { server: '[::1]:8448', mediaId: 'abc' });
    assert.equal(parseMxc('mxc://example.org/a/b'), undefined);
    assert.equal(parseMxc('mxc://example.org/'), undefined);
  });
});
