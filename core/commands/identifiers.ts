/**
 * For bridge admins: `audit`, the ledger of the phone numbers the bridge holds
 * (identity/audit.ts), and `migrate-identifiers`, pseudonyms for ghosts made before
 * numbers were kept out of Matrix IDs (identity/migrate.ts), and `forget`, which makes
 * the bridge forget who a remote person is (identity/forget.ts).
 */
import { auditText, phoneAudit } from '../identity/audit.js';
import { migrateIdentifiers, migrationReport } from '../identity/migrate.js';
import { forgetRemoteUser } from '../identity/forget.js';
import { networkId } from '../ids.js';
import type { Command } from './types.js';

export const identifierCommands: Command[] = [
  {
    name: 'audit',
    usage: '[json]',
    help: 'count the phone numbers the bridge holds, by country, network and place (never the numbers themselves)',
    level: 'admin',
    place: 'management',
    async run({ ctx, args }) {
      const audit = phoneAudit(ctx.store, ctx.naming.phones);
      return args[0] === 'json' ? JSON.stringify(audit, null, 2) : auditText(audit);
    },
  },
  {
    name: 'migrate-identifiers',
    help: 'give ghosts whose Matrix ID still holds a phone number a pseudonymous successor in their rooms',
    level: 'admin',
    place: 'management',
    async run({ ctx }) {
      return migrationReport(ctx.naming, await migrateIdentifiers(ctx));
    },
  },
  {
    name: 'forget',
    usage: '<network> <remote user>',
    help: 'forget who a remote person is: their ghost stays, nameless, and their direct chat is no longer bridged',
    level: 'admin',
    place: 'management',
    async run({ ctx, args }) {
      const [network, remote] = args;
      if (!network || !remote || args.length > 2) return 'Usage: forget <network> <remote user>, e.g. forget xmpp +15551234567@quicksy.im';
      if (!ctx.sessions.network(networkId(network))) return `There is no network "${network}" here.`;
      const ghost = await forgetRemoteUser(ctx, networkId(network), remote);
      return ghost ? `Forgotten: ${ghost} no longer stands for anyone the bridge knows; their direct chat is no longer bridged.` : `The bridge knows nobody called that on ${network}.`;
    },
  },
];
