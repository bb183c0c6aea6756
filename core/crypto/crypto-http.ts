/**
 * The client-server requests the crypto machine makes (key upload, query and claim,
 * to-device sends), as the bridge's device: the appservice token, `user_id` for the
 * user it acts as and `device_id` for the device (MSC4326, stable in Synapse 1.163;
 * the unstable `org.matrix.msc3202.device_id` is sent too for older homeservers).
 */
export class MatrixHttpError extends Error {
  constructor(readonly status: number, readonly errcode: string | undefined, message: string) {
    super(message);
  }
}

export interface CryptoHttpOptions {
  homeserverUrl: string;
  asToken: string;
  userId: string;
  deviceId: string;
  /** Per request; the homeserver may be slow, never forever. */
  timeoutMs?: number;
}

export class CryptoHttp {
  constructor(private readonly opts: CryptoHttpOptions) {}

  async request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, asDevice = true): Promise<unknown> {
    const url = new URL(path, this.opts.homeserverUrl);
    url.searchParams.set('user_id', this.opts.userId);
    if (asDevice) {
      url.searchParams.set('device_id', this.opts.deviceId);
      url.searchParams.set('org.matrix.msc3202.device_id', this.opts.deviceId);
    }
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.opts.asToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new MatrixHttpError(res.status, undefined, `${method} ${url.pathname}: HTTP ${res.status}, not JSON`);
    }
    if (!res.ok) {
      const err = json as { errcode?: string; error?: string };
      throw new MatrixHttpError(res.status, err.errcode, `${method} ${url.pathname}: HTTP ${res.status} ${err.errcode ?? ''} ${err.error ?? ''}`.trim());
    }
    return json;
  }
}
