// The part of irc-framework 4.14 (CommonJS, untyped) the adapter uses.
declare module 'irc-framework' {
  import { EventEmitter } from 'node:events';

  export interface IrcEventBase {
    nick: string;
    ident?: string;
    hostname?: string;
    tags: Record<string, string>;
    /** server-time, ms since the epoch, when the server sent one. */
    time?: number;
    account?: string | false;
  }
  export interface MessageEvent extends IrcEventBase {
    target: string;
    message: string;
    from_server?: boolean;
  }

  export class Message {
    constructor(command: string, ...params: string[]);
    tags: Record<string, string>;
    to1459(): string;
  }

  export interface ClientOptions {
    host: string;
    port: number;
    nick: string;
    username?: string;
    gecos?: string;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    ca?: string | Buffer;
    encoding?: string;
    version?: string | null;
    enable_echomessage?: boolean;
    auto_reconnect?: boolean;
    ping_interval?: number;
    ping_timeout?: number;
    account?: { account: string; password: string };
    sasl_disconnect_on_fail?: boolean;
  }

  export class Client extends EventEmitter {
    constructor(options?: Partial<ClientOptions>);
    connect(options?: Partial<ClientOptions>): void;
    raw(line: string | Message): void;
    quit(message?: string): void;
    join(channel: string, key?: string): void;
    part(channel: string, message?: string): void;
    changeNick(nick: string): void;
    requestCap(cap: string | string[]): void;
    who(target: string, cb: (res: { target: string; users?: { nick?: string; account?: string }[] }) => void): void;
    connected: boolean;
    user: { nick: string; username: string; host: string };
    network: {
      name: string;
      cap: { isEnabled(cap: string): boolean; enabled: string[]; available: Map<string, string> };
      supports(feature: string): string | boolean;
    };
    connection: { end(line?: string, force?: boolean): void };
  }
}
