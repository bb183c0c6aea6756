/**
 * Encryption at rest for login data (remote credentials and tokens): AES-256-GCM with
 * a key derived from the configured secret. Stored form: `v1:<iv>:<tag>:<ciphertext>`
 * (base64url). Without a key, data is stored as plain JSON and the bridge warns at start.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const PREFIX = 'v1:';

export class Sealer {
  private readonly key: Buffer | undefined;

  constructor(secret: string | undefined) {
    // A fixed salt is fine here: the secret is a long random value, not a password.
    this.key = secret ? scryptSync(secret, 'switchboard-login-data', 32) : undefined;
  }

  get encrypting(): boolean {
    return this.key !== undefined;
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
