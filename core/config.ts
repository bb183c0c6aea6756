/**
 * The bridge's one YAML config file: a core section validated here (zod), and a
 * `networks.<id>` section per network that its adapter validates itself.
 *
 * Any string may be `${ENV_NAME}` (whole value or embedded): secrets can live in the
 * environment instead of the file. An unset variable is an error naming the key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NETWORK_ID_PATTERN } from './ids.js';

export class ConfigError extends Error {
  constructor(
    /** Dotted path of the bad key, e.g. `appservice.port`. */
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ConfigError';
  }
}

const permissionLevel = z.enum(['none', 'relay', 'user', 'admin']);
export type PermissionLevel = z.infer<typeof permissionLevel>;

const networkSection = z
  .object({
    /** Which adapter implements this network; defaults to the section's key. */
    adapter: z.string().optional(),
    enabled: z.boolean().default(true),
    /** Ghost localpart prefix; defaults to `_<network>_`. */
    ghost_prefix: z.string().regex(/^[a-z0-9._=-]+$/, 'use only a-z 0-9 . _ = -').optional(),
    /** How a relayed Matrix user's name is put before their message; `{name}` is replaced. */
    relay_template: z.string().default('{name}: '),
    /** Remote users whose events are never bridged (other bridges and bots in the same chats: no ping-pong). */
    ignore_users: z.array(z.string().min(1)).default([]),
    /**
     * People known by a phone number (core/identity/phone.ts): their ghost ids are pseudonyms and
     * their names show `masked` numbers (or a `pseudonym`), unless `visible`. `region`: the country
     * whose national numbers this network's ids may be (E.164 numbers are found anywhere).
     */
    identifiers: z
      .object({
        phone: z.enum(['pseudonym', 'masked', 'visible']).default('masked'),
        region: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 region such as DE').optional(),
        /** Forget people known by a phone number unseen this many days (core/identity/forget.ts); 0: never. */
        forget_after_days: z.number().int().min(0).default(0),
      })
      .strict()
      .default({ phone: 'masked', forget_after_days: 0 }),
  })
  .passthrough();

const schema = z
  .object({
    homeserver: z.object({
      /** Client-Server API base URL the bridge talks to. */
      url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://127.0.0.1:8008' }),
      /** The homeserver's server name (the part after `:` in user ids). */
      domain: z.string().regex(/^[a-zA-Z0-9.-]+(:\d+)?$/, 'must be a server name like example.org'),
      /** Retry the homeserver at start-up for this long before giving up (seconds; 0 = forever). */
      startup_timeout_s: z.number().int().min(0).default(0),
    }),
    appservice: z.object({
      id: z.string().regex(/^[a-zA-Z0-9_.-]+$/).default('switchboard'),
      bind_address: z.string().default('127.0.0.1'),
      port: z.number().int().min(1).max(65535).default(29330),
      /** URL at which the homeserver reaches the bridge (goes into the registration). */
      url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL the homeserver can reach' }),
      /** Path of the registration file, relative to the config file. */
      registration: z.string().default('registration.yaml'),
      /** Largest request body accepted from the homeserver, in bytes; larger gets 413. */
      max_body_bytes: z.number().int().min(1024).default(10 * 1024 * 1024),
      bot: z
        .object({
          username: z.string().regex(/^[a-z0-9._=-]+$/, 'use only a-z 0-9 . _ = -').default('switchboard'),
          displayname: z.string().default('Switchboard'),
        })
        .prefault({}),
    }),
    bridge: z
      .object({
        /** Who may do what: keys are `*`, a server name or a full user id. */
        permissions: z.record(z.string(), permissionLevel).default({ '*': 'relay' }),
        /**
         * Key of the pseudonyms that stand for phone numbers in ghost ids (use `${ENV}`, 16+ characters).
         * Unset: derived from the login data key. Changing it gives those ghosts new ids.
         */
        identifiers_secret: z.string().min(16, 'use at least 16 characters').optional(),
        /** What a Matrix reaction becomes on a network without reactions. */
        reaction_fallback: z.enum(['notice', 'drop']).default('notice'),
        /** Largest media file the bridge moves, in bytes (a network may cap lower). */
        max_media_bytes: z.number().int().min(1).default(50 * 1024 * 1024),
        /** Tell a Matrix sender in the room when their message could not be delivered. */
        delivery_errors: z.boolean().default(true),
        /**
         * Also send `com.beeper.message_send_status` events (pending, sent after a delay,
         * failed) that clients supporting them show on the message itself.
         */
        message_status_events: z.boolean().default(true),
        /** How events that keep failing are retried (outages are waited out regardless). */
        retry: z
          .object({
            /** Attempts before an event that keeps failing is parked and its portal moves on. */
            max_attempts: z.number().int().min(1).default(6),
            /** First wait between attempts, in ms; doubles each time up to `max_delay_ms`. */
            base_delay_ms: z.number().int().min(1).default(500),
            max_delay_ms: z.number().int().min(1).default(30_000),
          })
          .prefault({}),
        /** How many logins connect at once at start-up and on reconnects (no reconnect storms). */
        max_concurrent_connects: z.number().int().min(1).default(4),
      })
      .prefault({}),
    encryption: z
      .object({
        /** Bridge encrypted Matrix rooms ("end-to-bridge": decrypted inside the bridge only, docs/encryption.md). */
        allow: z.boolean().default(false),
        /** Portal rooms the bridge creates are encrypted. */
        default: z.boolean().default(false),
        /** Only encrypted messages are bridged from Matrix: one sent unencrypted into a portal is refused and its sender told; new rooms are encrypted. */
        require: z.boolean().default(false),
        /** Whose devices get the keys of what the bridge sends: every device of the room's members, or only those their owner cross-signed. */
        share_with: z.enum(['all', 'cross-signed']).default('all'),
        /** Seconds an encrypted event waits for its key (it may come later over to-device), holding its portal, before its sender is told it could not be bridged. */
        key_wait_s: z.number().int().min(0).max(3600).default(60),
        /** The bridge's device (the bot's), created on the homeserver without a login (MSC4190). */
        device_id: z.string().regex(/^[A-Z0-9_]{1,32}$/, 'use A-Z, 0-9 and _ (at most 32)').default('SWITCHBOARD'),
        /** The crypto store (keys and sessions: back it up with the database), relative to the config file; default `store.path` + `.crypto`. */
        store_path: z.string().optional(),
      })
      .prefault({})
      .refine((e) => e.allow || (!e.default && !e.require), { path: ['allow'], error: 'encryption.default and encryption.require need encryption.allow: true' }),
    store: z
      .object({
        /** SQLite database file, relative to the config file (when `url` is unset). */
        path: z.string().default('switchboard.db'),
        /** A PostgreSQL database instead of SQLite: `postgres://user:password@host:port/database` (use `${ENV}` for the password). */
        url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL, e.g. postgres://switchboard:${SWITCHBOARD_DB_PASSWORD}@127.0.0.1:5432/switchboard').optional(),
        /** With `url`: how long an unreachable PostgreSQL is waited for (seconds) before the bridge gives up and exits. */
        outage_timeout_s: z.number().int().min(1).default(300),
        /** Secret that encrypts remote credentials at rest (use `${ENV}`); when unset, one is generated into `login_data_key_file`. */
        login_data_key: z.string().min(16, 'use at least 16 characters').optional(),
        /** Where the generated key is kept when `login_data_key` is unset (default: `store.path` + `.key`, with `url` too), relative to the config file. */
        login_data_key_file: z.string().optional(),
      })
      .prefault({}),
    provisioning: z
      .object({
        /** Serve `/_switchboard/provision/v1` on the appservice port. */
        enabled: z.boolean().default(false),
        /** What integration managers send as `Authorization: Bearer ...` (use `${ENV}`). */
        shared_secret: z.string().optional(),
        /** Let OpenID checks reach private, loopback and link-local addresses (test setups only). */
        allow_private_lookups: z.boolean().default(false),
        /** Requests per minute from one address; more get 429. */
        requests_per_minute: z.number().int().min(1).default(60),
      })
      .prefault({})
      .refine((p) => !p.enabled || (p.shared_secret?.length ?? 0) >= 16, {
        path: ['shared_secret'],
        error: 'must be set to at least 16 characters when provisioning is enabled',
      }),
    public_media: z
      .object({
        /** Serve signed links to Matrix media, for files a network cannot take as files. */
        enabled: z.boolean().default(false),
        /** The public address of `/_switchboard/media` on the appservice port (behind your reverse proxy). */
        url: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL, e.g. https://bridge.example.org/_switchboard/media').optional(),
        /** Key that signs the links (use `${ENV}`); changing it breaks every link given out. */
        signing_key: z.string().min(16, 'use at least 16 characters').optional(),
        /** Links stop working after this many seconds; 0: never (messages on other networks last). */
        expiry_s: z.number().int().min(0).default(0),
      })
      .prefault({})
      .refine((m) => !m.enabled || (m.url && m.signing_key), { error: 'url and signing_key must be set when public_media is enabled' }),
    metrics: z
      .object({
        /** Serve Prometheus metrics at `/metrics`. */
        enabled: z.boolean().default(false),
        /** `host:port` of a listener of their own (`/metrics`, `/ready`, `/health`); unset: on the appservice port. */
        bind_address: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9108').optional(),
      })
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      })
      .prefault({}),
    networks: z.record(z.string().regex(NETWORK_ID_PATTERN, 'network ids are lowercase letters and digits'), networkSection).default({}),
  })
  .strict();

export type Config = z.infer<typeof schema>;
export type NetworkSection = z.infer<typeof networkSection>;

/** Replace `${NAME}` in every string with the environment variable's value. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(path.join('.'), `environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k])]));
  }
  return value;
}

/** Validate a parsed YAML document; throws ConfigError naming the first bad key. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const substituted = substituteEnv(raw ?? {}, env);
  const result = schema.safeParse(substituted);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key(s) ${issue.keys.join(', ')}: check the spelling against config.example.yaml`;
    else if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required (see config.example.yaml)';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
    throw new ConfigError(path, message + more);
  }
  return result.data;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(doc, env);
}

/** The adapter's part of a network section: everything but the core keys. */
export function adapterSection(section: NetworkSection): Record<string, unknown> {
  const { adapter: _a, enabled: _e, ghost_prefix: _g, relay_template: _r, ignore_users: _i, identifiers: _p, ...rest } = section;
  return rest;
}

/** Permission of a Matrix user: exact id, then server name, then `*`. */
const LEVELS: readonly PermissionLevel[] = ['none', 'relay', 'user', 'admin'];

/** Whether `level` is at least `needed`. */
export function atLeast(level: PermissionLevel, needed: PermissionLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
}

/**
 * A user's level: their own entry, else their server's, else `*`. Users of other
 * servers get `relay` at most from `*`: only an entry naming them or their server
 * gives them more.
 */
export function permissionOf(config: Config, userId: string): PermissionLevel {
  const perms = config.bridge.permissions;
  const server = userId.slice(userId.indexOf(':') + 1);
  const explicit = perms[userId] ?? perms[server];
  if (explicit) return explicit;
  const star = perms['*'] ?? 'none';
  return server === config.homeserver.domain || !atLeast(star, 'user') ? star : 'relay';
}
