/**
 * What Switchboard changes in the Matrix libraries it runs on (matrix-appservice-bridge and
 * the bot-sdk under it), in one place: where their log lines go, which device they act as,
 * and which users they take as registered.
 */
import { createRequire } from 'node:module';
import { MembershipCache } from 'matrix-appservice-bridge';
import type { Logger } from '../adapter.js';
import type { MatrixUserId } from '../ids.js';

/** The bot-sdk instance matrix-appservice-bridge itself loads (not a copy of our own). */
function fromBridge(): NodeJS.Require {
  return createRequire(createRequire(import.meta.url).resolve('matrix-appservice-bridge'));
}

/**
 * Route the bot-sdk's own log lines (multi-line, on the console by default) into our
 * JSON logger at debug level: every failure they describe also reaches our code as
 * an error, which is logged there with its context.
 */
export function routeLibraryLogs(log: Logger): void {
  const { LogService, LogLevel } = fromBridge()('@vector-im/matrix-bot-sdk') as {
    LogService: { setLogger(l: object): void; setLevel(l: unknown): void };
    LogLevel: { DEBUG: unknown };
  };
  const forward = (module: string, ...parts: unknown[]) =>
    log.debug({ module, detail: parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : JSON.stringify(p)?.slice(0, 500))).join(' ') }, 'matrix library');
  LogService.setLogger({ trace: forward, debug: forward, info: forward, warn: forward, error: forward });
  LogService.setLevel(LogLevel.DEBUG);
}

type Registering = { ensureRegistered(deviceId?: string): Promise<unknown>; client: { impersonatedUserId?: string; impersonatedDeviceId?: string; impersonateUserId(userId: string): void } };

/**
 * Ghosts act without a device. The bot-sdk makes a freshly registered user act as the
 * device its registration created, so every later request of that process named the
 * device (`org.matrix.msc3202.device_id`, seen in Synapse's access log) and the
 * homeserver looked it up, while ghosts registered in an earlier run acted without one:
 * one behaviour now, the cheaper one (bench/many-rooms.ts showed no throughput change).
 * Devices are for encryption, which would choose them on purpose.
 */
export function actWithoutDevices(): void {
  const { Intent } = fromBridge()('@vector-im/matrix-bot-sdk') as { Intent: { prototype: Registering } };
  const register = Intent.prototype.ensureRegistered;
  if ((register as { switchboard?: boolean }).switchboard) return;
  const patched = async function (this: Registering, deviceId?: string) {
    const result = await register.call(this, deviceId);
    const { client } = this;
    if (deviceId === undefined && client.impersonatedDeviceId && client.impersonatedUserId) client.impersonateUserId(client.impersonatedUserId);
    return result;
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
