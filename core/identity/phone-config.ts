/** The phone-number rules of a bridge, from its config (identity/phone.ts). */
import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { networkId } from '../ids.js';
import { PhoneIdentifiers, type NetworkIdentifiers } from './phone.js';

/** Used only where no secret is given (tests): pseudonyms stay stable, but are not secret. */
const UNKEYED = 'switchboard: no identifiers secret configured';

export function phoneIdentifiers(config: Config, secret: string | undefined): PhoneIdentifiers {
  const policies = new Map(
    Object.entries(config.networks)
      .filter(([, s]) => s.enabled)
      .map(([id, s]) => [networkId(id), { phone: s.identifiers.phone, ...(s.identifiers.region && { region: s.identifiers.region }) } satisfies NetworkIdentifiers]),
  );
  return new PhoneIdentifiers(config.bridge.identifiers_secret ?? secret ?? UNKEYED, policies);
}

/** The pseudonym key derived from the login data key, when `bridge.identifiers_secret` is unset. */
export function identifiersSecretFrom(loginDataKey: string): string {
  return createHmac('sha256', loginDataKey).update('switchboard identifiers v1').digest('base64url');
}
