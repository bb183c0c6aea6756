/**
 * What Switchboard changes in the Matrix libraries it runs on (matrix-appservice-bridge and
 * the bot-sdk under it), in one place: where their log lines go, which device they act as,
 * and which users they take as registered.
 */
import { MembershipCache } from 'matrix-appservice-bridge';
// A direct dependency at the exact version matrix-appservice-bridge asks for, so npm installs
// one copy and this is the instance the library itself uses (test/unit/matrix-library.test.ts
// patches through this import and checks through the library's copy). A static import, so
// the bundle (scripts/bundle.mjs) holds one copy too.
import botSdk from '@vector-im/matrix-bot-sdk';
import type { Logger } from '../adapter.js';
import type { MatrixUserId } from '../ids.js';

/**
 * Route the bot-sdk's own log lines (multi-line, on the console by default) into our
 * JSON logger at debug level: every failure they describe also reaches our code as
 * an error, which is logged there with its context.
 */
export function routeLibraryLogs(log: Logger): void {
  const { LogService, LogLevel } = botSdk as unknown as {
    LogService: { setLogger(l: object): void; setLevel(l: unknown): void };
    LogLevel: { DEBUG: unknown };
  };
  const forward = (module: string, ...parts: unknown[]) =>
    log.debug({ module, detail: parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : JSON.stringify(p)?.slice(0, 500))).join(' ') }, 'matrix library');
  LogService.setLogger({ trace: forward, debug: forward, info: forward, warn: forward, error: forward });
  LogService.setLevel(LogLevel.DEBUG);
}

type Registering = {
  ensureRegistered(deviceId?: string): Promise<unknown>;
  userId: string;
  client: { doRequest(method: string, path: string, qs: unknown, body: unknown): Promise<Record<string, unknown>> };
  storage: { addRegisteredUser(userId: string): unknown };
};

/**
 * Ghosts and the bot are registered without a device (`inhibit_login`). The bot-sdk made
 * a freshly registered user act as the device its registration created, so every later
 * request of that process named the device and the homeserver looked it up, while users
 * registered in an earlier run acted without one: one behaviour now, the cheaper one
 * (bench/many-rooms.ts showed no throughput change). It is also what a homeserver with
 * MSC4190 on (encryption, docs/encryption.md) demands of an appservice: it refuses a
 * registration that would log in. The bridge's one device is made on purpose (core/crypto/).
 */
export function actWithoutDevices(): void {
  const { Intent } = botSdk as unknown as { Intent: { prototype: Registering } };
  const register = Intent.prototype.ensureRegistered;
  if ((register as { switchboard?: boolean }).switchboard) return;
  const patched = async function (this: Registering, deviceId?: string) {
    if (deviceId !== undefined) return register.call(this, deviceId);
    try {
      const username = this.userId.substring(1).split(':')[0];
      const result = await this.client.doRequest('POST', '/_matrix/client/v3/register', null, { type: 'm.login.application_service', username, inhibit_login: true });
      await this.storage.addRegisteredUser(this.userId);
      return result;
    } catch (err) {
      if ((err as { errcode?: unknown }).errcode !== 'M_USER_IN_USE') throw err;
      await this.storage.addRegisteredUser(this.userId);
      return null;
    }
  };
  Intent.prototype.ensureRegistered = Object.assign(patched, { switchboard: true });
}

/**
 * The library asks this before acting as a user whether to register them first (a request
 * each, after every restart, for every ghost: "User ID already taken"). Our store knows
 * the ghosts it registered.
 */
export class KnownUsers extends MembershipCache {
  constructor(private readonly registered: (userId: MatrixUserId) => boolean) {
    super();
  }

  override isUserRegistered(userId: string): boolean {
    return super.isUserRegistered(userId) || this.registered(userId as MatrixUserId);
  }
}
