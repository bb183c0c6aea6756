/**
 * The adapter contract suite (DESIGN.md): what every NetworkAdapter must do, checked the
 * same way for each, against the network itself (in memory for loopback, a real server
 * for the others). Each adapter's file gives an environment: the adapter, a config, a
 * login, and a peer on the network who talks with that login.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterSession, LoginInfo, NetworkAdapter } from '../../core/adapter.js';
import { RecordingSink } from '../harness/recording-sink.js';
import type { RemoteEvent } from '../../core/events.js';
import type { RemoteChatId, RemoteMessageId } from '../../core/ids.js';
import { remoteChatId } from '../../core/ids.js';
import { narrowed } from '../../core/capabilities.js';

/** Someone on the network who talks with the login under test. */
export interface Peer {
  /** The chat the session sees for a DM with this peer. */
  chat: RemoteChatId;
  say(text: string): Promise<void>;
  /** Resolves once the peer received `text` from the login; returns what else it saw (edits etc.) via `saw`. */
  waitForText(text: string): Promise<void>;
  /** Whether the peer saw an edit of a message to `text`, a deletion, a reaction with `key`. */
  sawEdit(text: string): Promise<void>;
  sawDelete(): Promise<void>;
  sawReaction(key: string): Promise<void>;
}

export interface ContractEnv {
  adapter: NetworkAdapter;
  rawConfig: unknown;
  login: LoginInfo;
  peer: Peer;
  /** A chat id that does not exist on the network. */
  unknownChat: string;
  close(): Promise<void>;
}

export function adapterContract(name: string, makeEnv: () => Promise<ContractEnv>): void {
  describe(`adapter contract: ${name}`, { timeout: 120_000 }, () => {
    let env: ContractEnv;
    let sink: RecordingSink;
    let session: AdapterSession;
    let config: unknown;

    before(async () => {
      env = await makeEnv();
      config = env.adapter.parseConfig(env.rawConfig);
      sink = new RecordingSink();
      session = env.adapter.createSession(env.login, config, sink);
    });
    after(async () => {
      await session?.disconnect();
      await env?.close();
    });

    it('validates its config: unknown keys are refused with an Error that names them', () => {
      assert.throws(() => env.adapter.parseConfig({ ...(env.rawConfig as object), no_such_key: 1 }), /no_such_key/);
    });

    it('declares sane capabilities', () => {
      const c = env.adapter.capabilities;
      assert.ok(Number.isInteger(c.maxTextLength) && c.maxTextLength >= 16);
      assert.ok(c.reactions === 'none' || c.reactions === 'any' || c.reactions === 'emoji' || Array.isArray(c.reactions));
      for (const k of c.formatting) assert.match(k, /^(bold|italic|underline|strike|code|spoiler|blockquote|pre|link|mention)$/);
      for (const m of Object.values(c.media)) assert.ok(m && m.maxBytes > 0);
    });

    it('connects, reporting its state, with no I/O before connect()', async () => {
      assert.equal(sink.states.length, 0, 'createSession did nothing yet');
      await session.connect();
      assert.equal(sink.states.at(-1)?.state, 'connected');
    });

    it('emits an incoming message once, with its chat, sender and id', async () => {
      await env.peer.say('contract: hello from the peer');
      const ev = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message' && e.content.text === 'contract: hello from the peer', 'incoming message');
      assert.equal(ev.chat.id, env.peer.chat);
      assert.equal(ev.chat.kind, 'dm');
      assert.ok(ev.id, 'a message has an id (dedup and targets)');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.events.filter((e) => e.type === 'message' && e.content.text === 'contract: hello from the peer').length, 1, 'exactly once');
    });

    let sent: RemoteMessageId | undefined;
    it('sends a message and returns its remote id', async () => {
      const result = await session.send({ type: 'message', chat: env.peer.chat, content: { kind: 'text', text: 'contract: hello from the login' } });
      assert.equal(result.status, 'sent');
      sent = result.status === 'sent' ? result.remoteId : undefined;
      assert.ok(sent, 'a sent message returns its remote id (echoes, edits and replies need it)');
      await env.peer.waitForText('contract: hello from the login');
    });

    it('edits, reacts and deletes by that id where it says it can', async () => {
      // What this connection can do (an IRC server without message tags has no reactions).
      const caps = narrowed(env.adapter.capabilities, session, false);
      if (caps.edits) {
        assert.equal((await session.send({ type: 'edit', chat: env.peer.chat, target: sent!, content: { kind: 'text', text: 'contract: edited' } })).status, 'sent');
        await env.peer.sawEdit('contract: edited');
      }
      if (caps.reactions !== 'none') {
        assert.equal((await session.send({ type: 'reaction', chat: env.peer.chat, target: sent!, key: '👍', removed: false, keys: ['👍'] })).status, 'sent');
        await env.peer.sawReaction('👍');
      }
      if (caps.deletes) {
        assert.equal((await session.send({ type: 'delete', chat: env.peer.chat, target: sent! })).status, 'sent');
        await env.peer.sawDelete();
      }
    });

    it('looks up users and refuses unknown chats', async () => {
      const peerInfo = await session.getUserInfo(env.peer.chat as unknown as Parameters<AdapterSession['getUserInfo']>[0]);
      assert.ok(peerInfo.id);
      await assert.rejects(session.getChatInfo(remoteChatId(env.unknownChat)));
    });

    it('a login flow starts with fields, and bad input fails without throwing', async () => {
      const flow = env.adapter.startLogin(config, { id: '@contract:example.org' });
      const first = await flow.start();
      assert.ok(first.type === 'fields' || first.type === 'show-code');
      const step = await flow.submit({});
      assert.equal(step.type, 'failed');
      await flow.cancel();
    });

    it('disconnects without rejecting, twice, and then send rejects or refuses', async () => {
      await session.disconnect();
      await session.disconnect();
      assert.equal(sink.states.at(-1)?.state, 'disconnected');
      const after = await session.send({ type: 'message', chat: env.peer.chat, content: { kind: 'text', text: 'late' } }).catch((err: Error) => err);
      assert.ok(after instanceof Error || after.status !== 'sent', 'nothing is sent by a disconnected session');
    });
  });
}
