/**
 * Encryption at rest for login data (remote credentials and tokens): AES-256-GCM with
 * a key derived from the configured secret. Stored form: `v1:<iv>:<tag>:<ciphertext>`
 * (base64url). Without a key, data is stored as plain JSON and the bridge warns at start.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, scryptSync } from 'node:crypto';

const PREFIX = 'v1:';
// A fixed salt is fine here: the secret is a long random value, or at least 16 characters.
const SALT = 'switchboard-login-data';

export class Sealer {
  private derived: Buffer | undefined;
  private readonly deriving: Promise<void>;

  constructor(private readonly secret: string | undefined) {
    // scrypt takes about 40 ms of CPU: derived on libuv's thread pool while the bridge starts
    // (the store opens before the Matrix side, the adapters and the listener; `ready()` is
    // awaited before the logins are read), and derived here, synchronously, if login data
    // is needed before that.
    this.deriving = new Promise((resolve) => {
      if (!secret) return resolve();
      scrypt(secret, SALT, 32, (err, key) => {
        if (!err) this.derived ??= key;
        resolve(); // on an error the synchronous derivation reports it, where the key is used
      });
    });
  }

  /** Resolves once the key is derived (at once without a secret). */
  ready(): Promise<void> {
    return this.deriving;
  }

  private get key(): Buffer | undefined {
    if (!this.secret) return undefined;
    return (this.derived ??= scryptSync(this.secret, SALT, 32));
  }

  get encrypting(): boolean {
    return Boolean(this.secret);
  }

  seal(data: Record<string, unknown>): string {
    const json = JSON.stringify(data);
    if (!this.key) return json;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return PREFIX + [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url')).join(':');
  }

  open(stored: string): Record<string, unknown> {
    if (!stored.startsWith(PREFIX)) return JSON.parse(stored) as Record<string, unknown>;
    if (!this.key) throw new Error('login data is encrypted but no store.login_data_key is configured');
    const [iv, tag, ct] = stored.slice(PREFIX.length).split(':').map((s) => Buffer.from(s, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv!);
    decipher.setAuthTag(tag!);
    const json = Buffer.concat([decipher.update(ct!), decipher.final()]).toString('utf8');
    return JSON.parse(json) as Record<string, unknown>;
  }
}
