/** The IRC network adapter. */
export { IrcAdapter, ircCapabilities } from './adapter.js';
