/**
 * Files in encrypted rooms (https://spec.matrix.org/v1.11/client-server-api/#sending-encrypted-attachments):
 * AES-CTR with a fresh key per file, the key and a SHA-256 of the ciphertext carried in
 * the event's `file` object, which the event's own encryption protects. The crypto
 * library does both ways (its `Attachment`), hash check included.
 */
type Sdk = typeof import('@matrix-org/matrix-sdk-crypto-wasm');

/** The `file` object of an event, without the `url` (the caller adds where it uploaded the bytes). */
export type EncryptedFileInfo = Record<string, unknown>;

// Loaded at the first encrypted file: a bridge that never meets one never loads the library.
// Through our own module, not `import()` of the package: in the production bundle that
// becomes a lazy require, and Node 20's code cache cannot run a real `import()` (bin/code-cache.mjs).
let loaded: Promise<Sdk> | undefined;
const wasm = () => (loaded ??= import('./bridge-crypto.js').then(async ({ sdk }) => (await sdk.initAsync(), sdk)));

export async function encryptAttachment(bytes: Uint8Array): Promise<{ data: Uint8Array; file: EncryptedFileInfo }> {
  const sdk = await wasm();
  const sealed = sdk.Attachment.encrypt(bytes);
  try {
    // The info is read once (the library forgets the key after): read it before anything else.
    const file = JSON.parse(sealed.mediaEncryptionInfo!) as EncryptedFileInfo;
    return { data: sealed.encryptedData, file };
  } finally {
    sealed.free();
  }
}

/** The clear bytes; throws when the hash or the key does not fit (a tampered or broken file). */
export async function decryptAttachment(data: Uint8Array, file: EncryptedFileInfo): Promise<Uint8Array> {
  const sdk = await wasm();
  const { url: _url, ...info } = file;
  const sealed = new sdk.EncryptedAttachment(data, JSON.stringify(info));
  try {
    return sdk.Attachment.decrypt(sealed);
  } finally {
    sealed.free();
  }
}
