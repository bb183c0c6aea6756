export { XmppAdapter, xmppCapabilities } from './adapter.js';
export type { XmppConfig } from './config.js';
