/**
 * IndexedDB keys as canonical text, so that equal keys are equal rows in SQL. A key is a
 * number, a Date, a string, binary data or an array of keys
 * (https://www.w3.org/TR/IndexedDB/#key-construct); structured-clone bytes are not
 * canonical (V8 writes a string one-byte or two-byte by how it is held, not by what it says).
 */
type Tagged = ['n', number | string] | ['d', number] | ['s', string] | ['b', string] | ['a', Tagged[]];

function tag(key: unknown): Tagged {
  if (typeof key === 'number') return ['n', Number.isFinite(key) ? key : String(key)];
  if (typeof key === 'string') return ['s', key];
  if (key instanceof Date) return ['d', key.getTime()];
  if (Array.isArray(key)) return ['a', key.map(tag)];
  if (key instanceof ArrayBuffer) return ['b', Buffer.from(key).toString('base64')];
  if (ArrayBuffer.isView(key)) return ['b', Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')];
  throw new TypeError(`not an IndexedDB key: ${Object.prototype.toString.call(key)}`);
}

function untag(t: Tagged): unknown {
  switch (t[0]) {
    case 'n': return typeof t[1] === 'number' ? t[1] : Number(t[1]);
    case 's': return t[1];
    case 'd': return new Date(t[1]);
    case 'a': return t[1].map(untag);
    case 'b': {
      const bytes = Buffer.from(t[1], 'base64');
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
  }
}

export const encodeKey = (key: unknown): string => JSON.stringify(tag(key));
export const decodeKey = (text: string): unknown => untag(JSON.parse(text) as Tagged);
