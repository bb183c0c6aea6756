/** Loopback group portals through a Stack's Synapse, for the benchmarks that need many rooms. */
import type { MatrixError, MatrixTestClient } from '../../test/harness/matrix-client.js';
import type { Stack } from '../../test/harness/stack.js';

/** Setting up many rooms runs into the invite and join rate limits: wait as asked and go on. */
export async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if ((err as MatrixError).status !== 429) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** The homeserver's own speed is what is measured, not its rate limiter: these users send unlimited. */
export async function unlimited(stack: Stack, userIds: string[]): Promise<void> {
  const admin = await stack.synapse.register('benchadmin', undefined, true);
  for (const user of userIds) {
    const res = await fetch(`${stack.synapse.url}/_synapse/admin/v1/users/${encodeURIComponent(user)}/override_ratelimit`, { method: 'POST', headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages_per_second: 0, burst_count: 0 }) });
    if (!res.ok) throw new Error(`override_ratelimit: ${res.status} ${await res.text()}`);
  }
}

/**
 * `count` loopback groups g0..g{count-1} with alice and bob, each made a portal by a
 * warm-up message from bob; `member` joins every room and `alsoInvite` are invited and join.
 * Returns the Matrix room of each group, by index.
 */
export async function groupPortals(stack: Stack, member: MatrixTestClient, count: number, alsoInvite: MatrixTestClient[] = []): Promise<string[]> {
  await stack.loopback.addUser('bob', 'Bob');
  const joined: string[] = [];
  for (let r = 0; r < count; r++) {
    await stack.loopback.addGroup(`g${r}`, { name: `Room ${r}`, members: ['alice', 'bob'] });
    await stack.loopback.say('bob', `g${r}`, `warm-up ${r}`);
  }
  for (let r = 0; r < count; r++) {
    const room = await member.waitForInvite((id) => !joined.includes(id), 60_000);
    await member.join(room);
    joined.push(room);
    for (const other of alsoInvite) {
      await patiently(() => member.invite(room, other.userId));
      await patiently(() => other.join(room));
    }
  }
  // Rooms by their loopback group, from the warm-up message each carries.
  const byGroup = joined.map(() => '');
  await member.waitUntil(() => {
    for (const ev of member.events) {
      const m = typeof ev.content?.body === 'string' ? /^warm-up (\d+)$/.exec(ev.content.body) : null;
      if (m) byGroup[Number(m[1])] = ev.room_id;
    }
    return byGroup.every(Boolean) ? true : undefined;
  }, 60_000);
  if (!byGroup.every(Boolean)) throw new Error(`warm-up messages seen in ${byGroup.filter(Boolean).length} of ${count} rooms`);
  return byGroup;
}
