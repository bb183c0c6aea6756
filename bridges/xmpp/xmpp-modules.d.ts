/** The parts of the @xmpp/* packages (plain JavaScript, no types) that the adapter uses. */
declare module '@xmpp/xml' {
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getNS(): string | undefined;
    text(): string;
    append(...children: (Element | string)[]): Element;
    toString(): string;
  }
  export default function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string | undefined | null | false)[]): Element;
}

declare module '@xmpp/jid' {
  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
    equals(other: JID): boolean;
  }
  export default function jid(address: string): JID;
  /** XEP-0106 JID escaping of a localpart (and back). */
  export function escapeLocal(local: string): string;
  export function unescapeLocal(local: string): string;
}

declare module '@xmpp/client-core' {
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';
  export class Client {
    constructor(options: { service?: string; domain: string; timeout?: number });
    options: { service?: string; domain: string };
    jid: JID | null;
    status: string;
    socket: unknown;
    transports: unknown[];
    timeout: number;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(element: Element): Promise<void>;
    sendReceive(element: Element, timeout?: number): Promise<Element>;
    restart(): Promise<void>;
    isSecure(): boolean;
    _attachSocket(socket: unknown): void;
    /** Set the bound (or resumed) full JID. */
    _jid(id: string): JID;
    /** Mark the connection online (`false` emits 'online', which `start()` waits for). */
    _ready(resumed?: boolean): void;
    on(event: 'stanza' | 'element' | 'nonza' | 'send', fn: (el: Element) => void): this;
    on(event: 'online', fn: (jid: JID) => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    on(event: 'status' | 'offline' | 'disconnect' | 'connect', fn: (...args: unknown[]) => void): this;
    removeAllListeners(): this;
  }
}

declare module '@xmpp/tcp' {
  export default function tcp(deps: { entity: unknown }): void;
}
declare module '@xmpp/middleware' {
  type Ctx = { stanza: import('@xmpp/xml').Element; entity: import('@xmpp/client-core').Client };
  export interface Middleware {
    use(fn: (ctx: Ctx, next: () => Promise<unknown>) => unknown): void;
  }
  export default function middleware(deps: { entity: unknown }): Middleware;
}
declare module '@xmpp/stream-features' {
  import type { Middleware } from '@xmpp/middleware';
  type Ctx = { stanza: import('@xmpp/xml').Element; entity: import('@xmpp/client-core').Client };
  export interface StreamFeatures {
    use(name: string, xmlns: string, handler: (ctx: Ctx, next: () => Promise<unknown>, feature: import('@xmpp/xml').Element) => unknown): void;
  }
  export default function streamFeatures(deps: { middleware: Middleware }): StreamFeatures;
}
declare module '@xmpp/iq/caller.js' {
  import type { Element } from '@xmpp/xml';
  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
    get(child: Element, to?: string, timeout?: number): Promise<Element>;
    set(child: Element, to?: string, timeout?: number): Promise<Element>;
  }
  export default function iqCaller(deps: { middleware: unknown; entity: unknown }): IqCaller;
}
declare module '@xmpp/iq/callee.js' {
  export interface IqCallee {
    get(ns: string, name: string, handler: () => unknown): void;
  }
  export default function iqCallee(deps: { middleware: unknown; entity: unknown }): IqCallee;
}
declare module '@xmpp/resolve' {
  export default function resolve(deps: { entity: unknown }): void;
}
declare module '@xmpp/resource-binding' {
  export default function resourceBinding(deps: { streamFeatures: unknown; iqCaller: unknown }, resource?: string): void;
}
declare module '@xmpp/starttls/starttls.js' {
  export function canUpgrade(socket: unknown): boolean;
  export function upgrade(socket: unknown, options: Record<string, unknown>): Promise<unknown>;
}
declare module '@xmpp/base64' {
  export function encode(s: string): string;
  export function decode(s: string): string;
}

declare module '@xmpp/connection-tcp' {
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';
  /** A stream over TCP (the base of client and component connections). */
  export default class ConnectionTCP {
    constructor(options: { service: string; domain: string; timeout?: number });
    NS: string;
    status: string;
    jid: JID | null;
    socket: unknown;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(element: Element): Promise<void>;
    sendReceive(element: Element, timeout?: number): Promise<Element>;
    _jid(id: string): JID;
    _status(status: string, ...args: unknown[]): void;
    on(event: 'stanza' | 'element' | 'nonza' | 'send' | 'open', fn: (el: Element) => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    on(event: 'status' | 'offline' | 'disconnect' | 'online', fn: (...args: unknown[]) => void): this;
    removeAllListeners(): this;
  }
}
