/** Remote attachments -> Matrix media events: fetch with a size cap, upload, describe. */
import type { AdapterSession } from '../../adapter.js';
import type { Attachment } from '../../events.js';
import { attachmentFailedToMatrix, attachmentToMatrix } from '../../convert/to-matrix.js';
import type { MatrixMessageContent } from '../../convert/matrix-types.js';
import type { MatrixSide } from '../../matrix/side.js';
import { encryptAttachment } from '../../crypto/attachments.js';

/** `sealed`: the room is encrypted, so the file is too (the homeserver stores only its ciphertext). */
export async function attachmentContent(att: Attachment, session: AdapterSession, matrix: MatrixSide, maxBytes: number, sealed = false): Promise<MatrixMessageContent> {
  if (att.size !== undefined && att.size > maxBytes) return attachmentFailedToMatrix(att, `larger than the ${maxBytes}-byte limit`);
  let bytes: Uint8Array;
  try {
    bytes = att.source.kind === 'bytes' ? att.source.bytes : await session.fetchMedia(att.source.ref, maxBytes);
  } catch (err) {
    return attachmentFailedToMatrix(att, `download failed (${(err as Error).message})`);
  }
  if (bytes.length > maxBytes) return attachmentFailedToMatrix(att, `larger than the ${maxBytes}-byte limit`);
  if (sealed) {
    const { data, file } = await encryptAttachment(bytes);
    const mxc = await matrix.uploadMedia(data, 'application/octet-stream', att.name);
    const { url: _url, ...content } = attachmentToMatrix(att, mxc, bytes.length);
    return { ...content, file: { ...file, url: mxc } };
  }
  const mxc = await matrix.uploadMedia(bytes, att.mime, att.name);
  return attachmentToMatrix(att, mxc, bytes.length);
}
