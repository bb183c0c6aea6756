/**
 * How many personal IRC connections one bridge process holds against a real ngircd, and
 * what each costs in memory: N sessions of the IRC adapter (the bridge's own code, no
 * Matrix) connect and join one channel each, then RSS and heap are read after a GC.
 * Run in its own process (RSS is per process):
 *   node --expose-gc --import tsx bench/irc-connections.ts        (BENCH_IRC_CONNECTIONS=500)
 */
import { IrcAdapter } from '../bridges/irc/index.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../core/ids.js';
import { Ngircd } from '../test/harness/ngircd.js';
import { tempDir } from '../test/harness/proc.js';
import { RecordingSink } from '../test/harness/recording-sink.js';

const N = Number(process.env.BENCH_IRC_CONNECTIONS ?? 500);
const mb = (n: number) => n / 1024 / 1024;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const tmp = tempDir('bench-irc');
const ngircd = await Ngircd.create({ dir: tmp.path });
await ngircd.start();
try {
  const adapter = new IrcAdapter();
  const config = adapter.parseConfig({ host: '127.0.0.1', port: ngircd.port, tls: false, max_connections: N + 10, flood: { burst: 10, per_second: 10 } });
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const sessions = [];
  for (let i = 0; i < N; i++) {
    const nick = `p${i}`;
    const session = adapter.createSession({ id: loginId(`irc:@${nick}:bench`), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId(nick), data: { nick } }, config, new RecordingSink());
    await session.connect();
    await session.getChatInfo(remoteChatId(`#room${i % 50}`));
    sessions.push(session);
  }
  const took = performance.now() - started;
  await new Promise((r) => setTimeout(r, 2000));
  gc();
  const after = process.memoryUsage();
  console.log('| connections | connect + join | RSS before | RSS after | RSS per connection | heap per connection |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${N} | ${(took / 1000).toFixed(1)} s | ${mb(before.rss).toFixed(0)} MB | ${mb(after.rss).toFixed(0)} MB | ${((after.rss - before.rss) / N / 1024).toFixed(0)} KB | ${((after.heapUsed - before.heapUsed) / N / 1024).toFixed(0)} KB |`);
  for (const s of sessions) await s.disconnect();
} finally {
  await ngircd.stop();
  tmp.remove();
}
