/**
 * The loopback network's control API: JSON over HTTP on a loopback address, so that
 * end-to-end tests and `npm run stack` can act as loopback users while the bridge runs
 * in another process. It speaks for people of a pretend network, so it only ever binds
 * to loopback, and takes an optional bearer token.
 *
 * Its routes are listed in CONTROL_ROUTES below (which `npm run stack` prints). Byte arrays travel as {"$bytes": "<base64>"} (see core/json-bytes.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../core/adapter.js';
import type { Attachment, MessageContent } from '../../core/events.js';
import { remoteMessageId } from '../../core/ids.js';
import { parseWithBytes, stringifyWithBytes } from '../../core/json-bytes.js';
import type { LoopbackWorld } from './world.js';

/** The routes of the control API, one per line, as people read them (printed by `npm run stack`). */
export const CONTROL_ROUTES = [
  '  POST   /users                     {id, name?, avatar?}              add or update a user',
  '  POST   /groups                    {id, name?, topic?, members?}     add a group chat',
  '  POST   /groups/:id/members        {user}                            join a group',
  '  PATCH  /groups/:id                {name}                            rename (bridged as chat-info)',
  '  POST   /messages                  {from, chat | to, text | content, reply_to?, txn?} -> {id}',
  "                                     (`txn`: the sender's idempotency key; a repeat is the same message)",
  '  GET    /chats/:id/messages?peer=  every message of a chat as the network keeps it (a DM: `peer` is the other user)',
  '  GET    /messages/:id              the message as the network sees it (edits, reactions, deleted)',
  '  POST   /messages/:id/edits        {text, by?}                      (`by`: someone else claims it, as a hostile client could)',
  '  DELETE /messages/:id?by=&moderator=1',
  '  POST   /messages/:id/reactions    {user, key, removed?}',
  "  PUT    /messages/:id/reactions    {user, keys}                     a person's whole set at once (as XMPP sends it)",
  '  POST   /typing                    {user, chat, active}',
  '  PUT    /online                    {online}',
  '  PUT    /refuse                    {text?}                          refuse sends of messages containing text (none: accept all)',
  '  GET    /from-bridge?since=N&wait_ms=M   what the bridge did, entries after N (long-polls up to M ms)',
].join('\n');

export interface ControlConfig {
  port: number;
  bindAddress: string;
  token?: string;
}

const MAX_BODY = 64 * 1024 * 1024;

const bytes = z.instanceof(Uint8Array);
const attachment: z.ZodType<Attachment> = z.object({
  kind: z.enum(['image', 'video', 'audio', 'voice', 'sticker', 'file']),
  name: z.string(),
  mime: z.string(),
  size: z.number().int().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  durationMs: z.number().int().optional(),
  source: z.object({ kind: z.literal('bytes'), bytes }),
}) as z.ZodType<Attachment>;
const content: z.ZodType<MessageContent> = z.object({
  kind: z.enum(['text', 'emote', 'notice']),
  text: z.string(),
  spans: z.array(z.any()).optional(),
  attachments: z.array(attachment).optional(),
}) as z.ZodType<MessageContent>;

const schemas = {
  user: z.object({ id: z.string().min(1), name: z.string().optional(), avatar: attachment.optional() }),
  group: z.object({ id: z.string().min(1), name: z.string().optional(), topic: z.string().optional(), members: z.array(z.string()).optional() }),
  member: z.object({ user: z.string().min(1) }),
  rename: z.object({ name: z.string() }),
  message: z.object({
    from: z.string().min(1), chat: z.string().optional(), to: z.string().optional(),
    text: z.string().optional(), content: content.optional(), reply_to: z.string().optional(),
    txn: z.string().min(1).max(200).optional(),
  }).refine((m) => (m.chat === undefined) !== (m.to === undefined), 'give exactly one of chat (a group) or to (a user)')
    .refine((m) => (m.text === undefined) !== (m.content === undefined), 'give exactly one of text or content'),
  edit: z.object({ text: z.string(), by: z.string().optional() }),
  reactionSet: z.object({ user: z.string(), keys: z.array(z.string()) }),
  reaction: z.object({ user: z.string().min(1), key: z.string().min(1), removed: z.boolean().optional() }),
  typing: z.object({ user: z.string().min(1), chat: z.string().min(1), active: z.boolean() }),
  online: z.object({ online: z.boolean() }),
  refuse: z.object({ text: z.string().min(1).optional() }),
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class LoopbackControl {
  private server: Server | undefined;

  constructor(private readonly world: LoopbackWorld, private readonly config: ControlConfig, private readonly log: Logger) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.bindAddress, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    this.log.info({ address: this.config.bindAddress, port }, 'loopback control API listening');
    return port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.authorise(req);
      const url = new URL(req.url ?? '/', 'http://loopback');
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req);
      const result = await this.route(req.method ?? 'GET', url, body);
      reply(res, 200, result ?? {});
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 400;
      const message = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') : (err as Error).message;
      reply(res, status, { error: message });
    }
  }

  private authorise(req: IncomingMessage): void {
    const token = this.config.token;
    if (!token) return;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(token).digest();
    if (!timingSafeEqual(a, b)) throw new HttpError(401, 'missing or wrong bearer token');
  }

  private async route(method: string, url: URL, body: unknown): Promise<unknown> {
    const w = this.world;
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const route = `${method} /${parts.map((p, i) => (i % 2 === 1 ? ':id' : p)).join('/')}`;
    const id = parts[1] ?? '';
    switch (route) {
      case 'POST /users': {
        const u = schemas.user.parse(body);
        w.addUser(u.id, u.name, u.avatar);
        return { id: u.id };
      }
      case 'POST /groups': {
        const g = schemas.group.parse(body);
        w.addGroup(g.id, { ...(g.name && { name: g.name }), ...(g.topic && { topic: g.topic }), ...(g.members && { members: g.members }) });
        return { id: g.id };
      }
      case 'POST /groups/:id/members':
        w.join(id, schemas.member.parse(body).user);
        return {};
      case 'PATCH /groups/:id':
        await w.rename(id, schemas.rename.parse(body).name);
        return {};
      case 'POST /messages': {
        const m = schemas.message.parse(body);
        const c: MessageContent = m.content ?? { kind: 'text', text: m.text ?? '' };
        const replyTo = m.reply_to === undefined ? undefined : remoteMessageId(m.reply_to);
        const msgId = m.chat !== undefined ? await w.say(m.from, m.chat, c, replyTo, m.txn) : await w.dm(m.from, m.to!, c, replyTo, m.txn);
        return { id: msgId };
      }
      case 'GET /chats/:id/messages': {
        const peer = url.searchParams.get('peer') ?? undefined;
        return { messages: w.chatMessages(id, peer).map((m) => ({ id: m.id, from: m.sender, text: m.content.text, ...(m.relayedFor && { relayed_for: m.relayedFor }), deleted: m.deleted, edits: m.edits.length })) };
      }
      case 'GET /messages/:id': {
        const msg = w.messages.get(remoteMessageId(id));
        if (!msg) throw new HttpError(404, `no message ${id}`);
        return { ...msg, reactions: Object.fromEntries([...msg.reactions].map(([u, keys]) => [u, [...keys]])) };
      }
      case 'POST /messages/:id/edits':
      {
        const e = schemas.edit.parse(body);
        await w.edit(remoteMessageId(id), e.text, e.by);
        return {};
      }
      case 'DELETE /messages/:id':
        await w.delete(remoteMessageId(id), url.searchParams.get('by') ?? undefined, url.searchParams.get('moderator') === '1');
        return {};
      case 'PUT /messages/:id/reactions': {
        const r = schemas.reactionSet.parse(body);
        await w.reactSet(r.user, remoteMessageId(id), r.keys);
        return {};
      }
      case 'POST /messages/:id/reactions': {
        const r = schemas.reaction.parse(body);
        await w.react(r.user, remoteMessageId(id), r.key, r.removed ?? false);
        return {};
      }
      case 'POST /typing': {
        const t = schemas.typing.parse(body);
        await w.typing(t.user, t.chat, t.active);
        return {};
      }
      case 'PUT /online':
        w.setOnline(schemas.online.parse(body).online);
        return {};
      case 'PUT /refuse':
        w.refusing = schemas.refuse.parse(body).text;
        return {};
      case 'GET /from-bridge': {
        const since = Number(url.searchParams.get('since') ?? 0);
        const waitMs = Number(url.searchParams.get('wait_ms') ?? 0);
        if (!Number.isInteger(since) || since < 0 || !Number.isFinite(waitMs)) throw new HttpError(400, 'since must be a count >= 0 and wait_ms a number');
        return this.fromBridge(since, Math.min(waitMs, 60_000));
      }
      default:
        throw new HttpError(404, `no route ${method} ${url.pathname}`);
    }
  }

  /** Entries after `since` (a count); waits up to `waitMs` for at least one. */
  private async fromBridge(since: number, waitMs: number): Promise<unknown> {
    // Woken by the entry itself, not by polling: latency benchmarks read arrival times here.
    const deadline = Date.now() + waitMs;
    while (this.world.fromBridge.length <= since && Date.now() < deadline) await this.world.nextFromBridge(deadline - Date.now());
    const entries = this.world.fromBridge.slice(since).map((e, i) => ({ seq: since + i + 1, ...e }));
    return { entries, next: since + entries.length };
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return parseWithBytes(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = stringifyWithBytes(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
