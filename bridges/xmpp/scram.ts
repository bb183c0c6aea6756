/**
 * SCRAM-SHA-1 (RFC 5802) for XMPP logins, with two things @xmpp/client's mechanism lacks:
 * the key derivation runs in native code (node:crypto pbkdf2, milliseconds instead of
 * seconds of WebCrypto calls), and a login can present the derived keys instead of the
 * password. The bridge keeps only those keys (ClientKey and ServerKey, for one salt and
 * iteration count): enough to log in to this server, useless as a password anywhere
 * else, and stored encrypted like all login data.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a login keeps instead of a password. */
export interface ScramKeys {
  salt: string;
  iterations: number;
  clientKey: string;
  serverKey: string;
}

/** The credentials the mechanism reads: a password, or keys derived from it before. */
export interface ScramCredentials {
  username: string;
  password?: string;
  keys?: ScramKeys;
  /** Called with the keys used, so a caller can keep them (and drop the password). */
  onKeys?: (keys: ScramKeys) => void;
}

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha1', key).update(data).digest();

export function deriveKeys(password: string, saltB64: string, iterations: number): ScramKeys {
  // SASLprep is not applied: passwords are used as their UTF-8 bytes (identical for ASCII).
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(saltB64, 'base64'), iterations, 20, 'sha1');
  return { salt: saltB64, iterations, clientKey: hmac(salted, 'Client Key').toString('base64'), serverKey: hmac(salted, 'Server Key').toString('base64') };
}

/** RFC 5802 5.1: `=` and `,` are escaped in user names. */
const saslName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** The client side of one SCRAM-SHA-1 exchange (connection.ts drives it). */
export class ScramSha1 {
  readonly name = 'SCRAM-SHA-1';
  readonly clientFirst = true;
  private stage: 'first' | 'final' | 'done' = 'first';
  /** `nonce` is for tests (RFC 5802's example); a fresh random one otherwise. */
  constructor(private readonly clientNonce = randomBytes(18).toString('base64url')) {}

  private clientFirstBare = '';
  private serverFirst = '';
  private expectedServerSignature: Buffer | undefined;

  response(cred: ScramCredentials): string {
    if (this.stage === 'first') {
      this.clientFirstBare = `n=${saslName(cred.username)},r=${this.clientNonce}`;
      return `n,,${this.clientFirstBare}`;
    }
    if (this.stage === 'final') return this.clientFinal(cred);
    return '';
  }

  challenge(data: string): void {
    if (this.stage === 'first') {
      this.serverFirst = data;
      this.stage = 'final';
      return;
    }
    // server-final: v=<signature>, checked so a fake server cannot pretend we logged in.
    const v = /(?:^|,)v=([^,]+)/.exec(data)?.[1];
    if (!v || !this.expectedServerSignature || !timingSafeEqual(Buffer.from(v, 'base64'), this.expectedServerSignature)) {
      throw new Error('SCRAM: the server did not prove it knows the password');
    }
    this.stage = 'done';
  }

  private clientFinal(cred: ScramCredentials): string {
    const attrs = new Map(this.serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = attrs.get('r') ?? '';
    const salt = attrs.get('s') ?? '';
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.clientNonce) || !salt || !Number.isInteger(iterations) || iterations < 1) throw new Error('SCRAM: malformed server challenge');
    let keys = cred.keys;
    if (!keys || keys.salt !== salt || keys.iterations !== iterations) {
      // The server's salt or count changed (password changed?): only a password can help.
      if (cred.password === undefined) throw new Error('SCRAM: stored keys no longer match the server; log in again with the password');
      keys = deriveKeys(cred.password, salt, iterations);
    }
    cred.onKeys?.(keys);
    const clientKey = Buffer.from(keys.clientKey, 'base64');
    const storedKey = createHash('sha1').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.expectedServerSignature = hmac(Buffer.from(keys.serverKey, 'base64'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }
}
