/**
 * For bridge admins: `audit`, the ledger of the phone numbers the bridge holds
 * (identity/audit.ts), and `migrate-identifiers`, pseudonyms for ghosts made before
 * numbers were kept out of Matrix IDs (identity/migrate.ts).
 */
import { auditText, phoneAudit } from '../identity/audit.js';
import { migrateIdentifiers } from '../identity/migrate.js';
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
      const done = await migrateIdentifiers(ctx);
      if (!done.length) return 'No ghost has a phone number in its Matrix ID: nothing to do.';
      // The old ids hold the numbers: this answer names them only masked.
      const line = (m: (typeof done)[number]) => {
        const who = ctx.naming.fallbackName(m.network, m.remote) ?? 'a ghost';
        return `• ${who}: now ${m.to}, in ${m.rooms.length} room${m.rooms.length === 1 ? '' : 's'}${m.problems.length ? `; ${m.problems.length} room${m.problems.length === 1 ? '' : 's'} not done (see the log): run it again to retry` : ''}`;
      };
      return [`Replaced ${done.length} ghost${done.length === 1 ? '' : 's'}. Old messages stay under the old ghosts, whose names now show the number masked.`, ...done.map(line)].join('\n');
    },
  },
];
