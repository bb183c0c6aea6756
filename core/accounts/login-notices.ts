/**
 * Connection trouble of a person's login, told once in the management room where the
 * login was made: when it is lost (not at every retry), when the credentials are
 * refused, and when it is back after a reported problem. Start-up connects are silent.
 */
import type { ConnectionState } from '../adapter.js';
import type { BridgeContext } from '../context.js';
import type { LoginId } from '../ids.js';
import { txnId } from '../portal/txn.js';
import type { LiveLogin } from './sessions.js';

type Reported = 'ok' | 'trouble' | 'refused';

export class LoginNotices {
  private readonly reported = new Map<LoginId, Reported>();

  constructor(private readonly ctx: BridgeContext) {}

  onState(live: LiveLogin, state: ConnectionState): void {
    const room = live.login.noticeRoom;
    if (!room) return;
    const id = live.login.loginId;
    const was = this.reported.get(id) ?? 'ok';
    const who = `${live.login.network}${live.login.remoteUser ? ` (${live.login.remoteUser})` : ''}`;
    let text: string | undefined;
    let now: Reported = was;
    if (state.state === 'bad-credentials' && was !== 'refused') {
      text = `Your ${who} login was refused: ${state.reason}. Log in again with "login ${live.login.network}".`;
      now = 'refused';
    } else if (state.state === 'transient-error' && was === 'ok') {
      text = `Your ${who} login lost its connection (${state.reason}). It reconnects by itself; messages wait and are delivered when it is back.`;
      now = 'trouble';
    } else if (state.state === 'connected' && was !== 'ok') {
      text = `Your ${who} login is connected again.`;
      now = 'ok';
    }
    this.reported.set(id, now);
    if (!text) return;
    const bot = this.ctx.naming.botUserId;
    void this.ctx.matrix
      .sendEvent(room, bot, 'm.room.message', { msgtype: 'm.notice', body: text }, txnId('login-state', id, now, Date.now()))
      .catch((err: unknown) => this.ctx.log.warn({ login: id, err: String(err) }, 'could not post a login notice'));
  }

  forget(id: LoginId): void {
    this.reported.delete(id);
  }
}
