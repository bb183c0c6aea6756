/** audit: the bridge's ledger of the phone numbers it holds, for bridge admins (identity/audit.ts). */
import { auditText, phoneAudit } from '../identity/audit.js';
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
];
