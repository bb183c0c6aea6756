/**
 * The appservice registration file the homeserver loads. Generated from the config
 * with fresh random tokens (`switchboard generate-registration`), read back at start.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { AppServiceRegistration } from 'matrix-appservice-bridge';
import type { Config } from '../config.js';
import type { Naming } from '../identity/naming.js';

export interface Registration {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: boolean;
  receive_ephemeral: boolean;
  'de.sorunome.msc2409.push_ephemeral': boolean;
  /** Encryption only: device lists and one-time key counts in transactions, and acting as a device (MSC3202). */
  'org.matrix.msc3202'?: boolean;
  /** Encryption only: the appservice creates its users' devices without a login (MSC4190). */
  'io.element.msc4190'?: boolean;
  namespaces: { users: { exclusive: boolean; regex: string }[]; aliases: never[]; rooms: never[] };
}

/** Placeholder used in the committed example registration; the bridge refuses to run with it. */
export const PLACEHOLDER_TOKEN = 'generate-with-switchboard-generate-registration';

export function buildRegistration(config: Config, naming: Naming, tokens?: { as: string; hs: string }): Registration {
  return {
    id: config.appservice.id,
    url: config.appservice.url,
    as_token: tokens?.as ?? AppServiceRegistration.generateToken(),
    hs_token: tokens?.hs ?? AppServiceRegistration.generateToken(),
    sender_localpart: config.appservice.bot.username,
    // Ghosts speak for many people at once; per-user rate limits would throttle a whole network.
    rate_limited: false,
    // Typing and receipts from Matrix users (MSC2409, stable name and the unstable one Synapse reads).
    receive_ephemeral: true,
    'de.sorunome.msc2409.push_ephemeral': true,
    // Encryption (docs/encryption.md): to-device messages come with the ephemeral push above.
    ...(config.encryption.allow && { 'org.matrix.msc3202': true, 'io.element.msc4190': true }),
    namespaces: {
      users: naming.userNamespaces().map((regex) => ({ exclusive: true, regex })),
      aliases: [],
      rooms: [],
    },
  };
}

export function writeRegistration(file: string, reg: Registration): void {
  writeFileSync(file, toYaml(reg), { mode: 0o600 });
}

/** Read the registration and check it matches the config; throws with the fix. */
export function readRegistration(file: string, config: Config, naming: Naming): Registration {
  let reg: Partial<Registration>;
  try {
    reg = parseYaml(readFileSync(file, 'utf8')) as Partial<Registration>;
  } catch (err) {
    throw new Error(`cannot read registration ${file}: ${(err as Error).message}; run 'switchboard generate-registration'`);
  }
  if (!reg?.as_token || !reg.hs_token) throw new Error(`registration ${file} has no as_token/hs_token; run 'switchboard generate-registration'`);
  if (reg.as_token === PLACEHOLDER_TOKEN || reg.hs_token === PLACEHOLDER_TOKEN) {
    throw new Error(`registration ${file} holds placeholder tokens; run 'switchboard generate-registration' and give the new file to your homeserver`);
  }
  const expected = buildRegistration(config, naming, { as: reg.as_token, hs: reg.hs_token });
  const have = JSON.stringify(reg.namespaces?.users ?? []);
  if (have !== JSON.stringify(expected.namespaces.users)) {
    throw new Error(`registration ${file} does not claim the namespaces this config needs (${expected.namespaces.users.map((u) => u.regex).join(', ')}); run 'switchboard generate-registration' again and restart the homeserver`);
  }
  if (config.encryption.allow && (reg['org.matrix.msc3202'] !== true || reg['io.element.msc4190'] !== true || reg['de.sorunome.msc2409.push_ephemeral'] !== true)) {
    throw new Error(`registration ${file} lacks what encryption needs (org.matrix.msc3202, io.element.msc4190, de.sorunome.msc2409.push_ephemeral: true); run 'switchboard generate-registration' again (or add them), and in the homeserver config set experimental_features: {msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true}`);
  }
  if (reg.url !== expected.url) throw new Error(`registration ${file} has url ${reg.url} but config appservice.url is ${expected.url}; regenerate the registration`);
  return { ...expected, ...reg } as Registration;
}
