/**
 * IQs the gateway answers itself: service discovery (XEP-0030) with the `gateway/matrix`
 * identity, the gateway prompt (XEP-0100 jabber:iq:gateway: a Matrix ID in, its address
 * out), ping (XEP-0199), software version (XEP-0092) and entity time (XEP-0202), both for
 * the component and for every Matrix user's address. Pure: stanza in, answer out.
 */
import xml, { type Element } from '@xmpp/xml';
import { localpartOfMatrixUser } from './addresses.js';
import { errorReply } from './component.js';

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_GATEWAY = 'jabber:iq:gateway';
const NS_PING = 'urn:xmpp:ping';
const NS_VERSION = 'jabber:iq:version';
const NS_TIME = 'urn:xmpp:time';
const NS_VCARD = 'vcard-temp';

const SERVICE_FEATURES = [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_GATEWAY, NS_PING, NS_VERSION, NS_TIME];
/** What a Matrix user's address does (XEP-0030 for a user's address: an account). */
export const USER_FEATURES = [NS_DISCO_INFO, NS_PING, NS_VERSION, NS_TIME, NS_VCARD,
  'http://jabber.org/protocol/chatstates', 'urn:xmpp:message-correct:0', 'urn:xmpp:message-retract:1',
  'urn:xmpp:reactions:0', 'urn:xmpp:reply:0', 'urn:xmpp:chat-markers:0', 'urn:xmpp:sid:0', 'urn:xmpp:styling:0', 'urn:xmpp:receipts'];

export interface ServiceInfo {
  /** The component's address. */
  domain: string;
}

/** The answer to an iq addressed to the component itself. */
export function serviceIq(iq: Element, info: ServiceInfo): Element {
  const payload = iq.children.find((c): c is Element => typeof c !== 'string');
  const ns = payload?.attrs.xmlns;
  if (iq.attrs.type === 'get' && payload?.name === 'query' && ns === NS_DISCO_INFO && !payload.attrs.node) {
    return result(iq, xml('query', { xmlns: NS_DISCO_INFO },
      xml('identity', { category: 'gateway', type: 'matrix', name: 'Matrix (Switchboard)' }),
      ...SERVICE_FEATURES.map((v) => xml('feature', { var: v }))));
  }
  if (iq.attrs.type === 'get' && payload?.name === 'query' && ns === NS_DISCO_ITEMS) return result(iq, xml('query', { xmlns: NS_DISCO_ITEMS }));
  if (payload?.name === 'query' && ns === NS_GATEWAY) return gatewayPrompt(iq, payload, info);
  return commonIq(iq, payload) ?? errorReply(iq, 'cancel', 'service-unavailable');
}

/** Ping, version and time, the same for the component and its users; undefined for anything else. */
export function commonIq(iq: Element, payload: Element | undefined): Element | undefined {
  if (iq.attrs.type !== 'get' || !payload) return undefined;
  const ns = payload.attrs.xmlns;
  if (payload.name === 'ping' && ns === NS_PING) return result(iq);
  if (payload.name === 'query' && ns === NS_VERSION) return result(iq, xml('query', { xmlns: NS_VERSION }, xml('name', {}, 'Switchboard')));
  if (payload.name === 'time' && ns === NS_TIME) {
    return result(iq, xml('time', { xmlns: NS_TIME }, xml('tzo', {}, '+00:00'), xml('utc', {}, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'))));
  }
  return undefined;
}

/** XEP-0100 4.1.3: `get` asks what to type, `set` with a Matrix ID answers its address. */
function gatewayPrompt(iq: Element, payload: Element, info: ServiceInfo): Element {
  if (iq.attrs.type === 'get') {
    return result(iq, xml('query', { xmlns: NS_GATEWAY }, xml('desc', {}, 'Type the Matrix ID of the person you want to write to, like @alice:example.org.'), xml('prompt', {}, 'Matrix ID')));
  }
  if (iq.attrs.type !== 'set') return errorReply(iq, 'modify', 'bad-request');
  const typed = (payload.getChildText('prompt') ?? '').trim().slice(0, 300);
  try {
    return result(iq, xml('query', { xmlns: NS_GATEWAY }, xml('jid', {}, `${localpartOfMatrixUser(typed)}@${info.domain}`)));
  } catch (err) {
    return errorReply(iq, 'modify', 'not-acceptable', (err as Error).message);
  }
}

export function result(iq: Element, payload?: Element): Element {
  const { from, to, id } = iq.attrs;
  return xml('iq', { type: 'result', ...(to && { from: to }), ...(from && { to: from }), ...(id && { id }) }, payload);
}
