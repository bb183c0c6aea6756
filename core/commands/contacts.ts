/** allow, deny, block, unblock: who may reach a person through their login (a gateway address). */
import { networkId, remoteUserId, type NetworkId } from '../ids.js';
import { identifierProblem } from '../safety.js';
import type { LiveLogin } from '../accounts/sessions.js';
import { CommandError, type Command, type CommandCall } from './types.js';

/** The caller's own login on the named network and the address they typed. */
function target(call: CommandCall): { live: LiveLogin; network: NetworkId; who: string } {
  const [named, who] = call.args;
  if (!named || !who || call.args.length > 2) throw new CommandError('Give a network and an address, e.g. "allow xmppgw juliet@example.org".');
  const network = networkId(named.toLowerCase());
  const live = call.ctx.sessions.ownedBy(network, call.sender);
  if (!live) throw new CommandError(`You have no login on "${named}". Use "login ${named}" first.`);
  const problem = identifierProblem(who);
  if (problem) throw new CommandError(`That address cannot be used: ${problem}.`);
  return { live, network, who };
}

async function answer(call: CommandCall, allow: boolean): Promise<string> {
  const { live, network, who } = target(call);
  if (!live.session.answerContactRequest) throw new CommandError(`${network} has no contact requests to answer.`);
  try {
    await live.session.answerContactRequest(remoteUserId(who), allow);
  } catch (err) {
    throw new CommandError(`Could not answer: ${(err as Error).message}.`);
  }
  return allow ? `${who} may now see when you are online on ${network}.` : `${who} was told no; they do not see when you are online on ${network}.`;
}

async function block(call: CommandCall, blocked: boolean): Promise<string> {
  const { live, network, who } = target(call);
  if (!live.session.block) throw new CommandError(`${network} has no blocking through the bridge; block them in the network's own app.`);
  try {
    return await live.session.block(who, blocked);
  } catch (err) {
    throw new CommandError(`Cannot ${blocked ? 'block' : 'unblock'} that: ${(err as Error).message}.`);
  }
}

export const contactCommands: Command[] = [
  { name: 'allow', usage: '<network> <address>', help: 'let someone who asked see when you are online (become your contact)', level: 'user', place: 'management', run: (call) => answer(call, true) },
  { name: 'deny', usage: '<network> <address>', help: 'refuse someone who asked to see when you are online', level: 'user', place: 'management', run: (call) => answer(call, false) },
  { name: 'block', usage: '<network> <address|server>', help: 'refuse everything from a person, or from a whole server, through your login', level: 'user', place: 'management', run: (call) => block(call, true) },
  { name: 'unblock', usage: '<network> <address|server>', help: 'take a block back', level: 'user', place: 'management', run: (call) => block(call, false) },
];
