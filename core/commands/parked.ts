/**
 * For bridge admins: events the bridge gave up on ("parked": refused by the other side,
 * failing past `bridge.retry.max_attempts`, or undeliverable), which `/metrics` counts as
 * `switchboard_inbox_rows{state="parked"}`. `parked` lists them with their reason,
 * `retry` puts them back at the end of their portal's queue, `drop` sets one aside for good.
 */
import { networkId, parsePortalKey, type NetworkId } from '../ids.js';
import type { ParkedRow } from '../store/store.js';
import type { Command, CommandCall } from './types.js';

/** How many parked events one answer lists, and how many `retry all` takes at once. */
const LIST_LIMIT = 20;
const RETRY_ALL_LIMIT = 1_000;
/** A reason is the other side's words: long ones are cut. */
const REASON_CHARS = 200;

/** The optional network argument: none, one of this bridge's networks, or an answer saying it is not. */
function networkArg(call: CommandCall, arg: string | undefined): { network?: NetworkId } | { error: string } {
  if (arg === undefined) return {};
  const id = networkId(arg.toLowerCase());
  return call.ctx.sessions.network(id) ? { network: id } : { error: `There is no network "${arg}" here.` };
}

function describe(call: CommandCall, row: ParkedRow, now: number): string {
  const network = parsePortalKey(row.portalKey).network;
  const way = row.direction === 'matrix' ? `Matrix → ${network}` : `${network} → Matrix`;
  const reason = call.ctx.naming.publicText(network, row.reason);
  const cut = reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}…` : reason;
  return `#${row.seq} ${way}, ${age(now - row.createdAt)} ago, ${row.attempts} attempt${row.attempts === 1 ? '' : 's'}: ${cut || 'no reason recorded'}`;
}

export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** `#12`, `12`: an inbox row number. */
function seqArg(arg: string | undefined): number | undefined {
  const m = /^#?(\d{1,15})$/.exec(arg ?? '');
  return m ? Number(m[1]) : undefined;
}

export const parkedCommands: Command[] = [
  {
    name: 'parked',
    usage: '[network]',
    help: 'list the events the bridge gave up on, newest first, with the reason (retry or drop them by number)',
    level: 'admin',
    place: 'management',
    async run(call) {
      const arg = networkArg(call, call.args[0]);
      if ('error' in arg) return arg.error;
      const { network } = arg;
      const rows = call.ctx.store.parkedInbox(LIST_LIMIT + 1, network);
      if (!rows.length) return network ? `No parked events on ${network}.` : 'No parked events.';
      const now = Date.now();
      const lines = rows.slice(0, LIST_LIMIT).map((r) => describe(call, r, now));
      const more = rows.length > LIST_LIMIT ? `\n… and more: "drop" or "retry" these first, or name a network.` : '';
      return `Parked events (newest first):\n${lines.join('\n')}${more}\n"retry <number>|all [network]" puts them back in their portal's queue; "drop <number>" sets one aside for good.`;
    },
  },
  {
    name: 'retry',
    usage: '<number>|all [network]',
    help: 'try parked events again, at the end of their portal\'s queue',
    level: 'admin',
    place: 'management',
    async run(call) {
      const [what, net] = call.args;
      if (what === 'all') {
        const arg = networkArg(call, net);
        if ('error' in arg) return arg.error;
        const seqs = call.ctx.store.parkedInbox(RETRY_ALL_LIMIT, arg.network).map((r) => r.seq).reverse();
        const n = call.services.retryParked(seqs);
        return n ? `${n} parked event${n === 1 ? '' : 's'} queued again, oldest first.` : 'No parked events.';
      }
      const seq = seqArg(what);
      if (seq === undefined || net !== undefined) return 'Usage: retry <number>|all [network], numbers as "parked" lists them.';
      return call.services.retryParked([seq]) ? `#${seq} is queued again.` : `#${seq} is not a parked event (see "parked").`;
    },
  },
  {
    name: 'drop',
    usage: '<number>',
    help: 'set a parked event aside for good (it leaves the parked list and is never retried)',
    level: 'admin',
    place: 'management',
    async run(call) {
      const seq = seqArg(call.args[0]);
      if (seq === undefined || call.args.length > 1) return 'Usage: drop <number>, as "parked" lists them.';
      return call.ctx.store.dropParked(seq, `dropped by ${call.sender}`) ? `#${seq} is dropped.` : `#${seq} is not a parked event (see "parked").`;
    },
  },
];
