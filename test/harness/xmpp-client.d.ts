/** The part of @xmpp/client (plain JavaScript) the test person uses. */
declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml';
  export { default as xml } from '@xmpp/xml';
  export interface Client {
    reconnect: { stop(): void };
    start(): Promise<unknown>;
    stop(): Promise<void>;
    send(element: Element): Promise<void>;
    on(event: string, fn: (...args: any[]) => void): void;
    off(event: string, fn: (...args: any[]) => void): void;
    prependListener(event: string, fn: (...args: any[]) => void): void;
    iqCaller: { request(stanza: Element, timeoutMs?: number): Promise<Element> };
  }
  export function client(options: Record<string, unknown>): Client;
}
