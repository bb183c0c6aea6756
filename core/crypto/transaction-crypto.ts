/**
 * What an appservice transaction carries for the crypto machine, read from the body:
 * to-device messages (MSC4203, still under MSC2409's name in Synapse:
 * `de.sorunome.msc2409.to_device`, each with `to_user_id`/`to_device_id`), device list
 * changes and one-time/fallback key counts (MSC3202). Stable names are read first,
 * should a homeserver send them. Anything malformed is left out, never thrown on: one
 * bad entry must not fail the transaction (the homeserver would retry it for ever).
 */
export interface CryptoExtensions {
  /** To-device messages for our device only. */
  toDevice: Record<string, unknown>[];
  changed: string[];
  left: string[];
  oneTimeKeyCounts: Map<string, number>;
  /** Undefined when the homeserver did not say (the machine then keeps what it knew). */
  unusedFallbackKeys: Set<string> | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const first = (body: Record<string, unknown>, ...names: string[]): unknown => names.map((n) => body[n]).find((v) => v !== undefined);

/** Undefined when the transaction carries nothing for our device. */
export function parseCryptoExtensions(body: Record<string, unknown>, userId: string, deviceId: string): CryptoExtensions | undefined {
  const rawToDevice = first(body, 'to_device', 'de.sorunome.msc2409.to_device');
  const toDevice = (Array.isArray(rawToDevice) ? rawToDevice : [])
    .filter(isObject)
    .filter((e) => e.to_user_id === userId && e.to_device_id === deviceId && typeof e.type === 'string' && typeof e.sender === 'string' && isObject(e.content));

  const lists = first(body, 'device_lists', 'org.matrix.msc3202.device_lists');
  const changed = isObject(lists) ? strings(lists.changed) : [];
  const left = isObject(lists) ? strings(lists.left) : [];

  const counts = first(body, 'device_one_time_keys_count', 'org.matrix.msc3202.device_one_time_keys_count', 'org.matrix.msc3202.device_one_time_key_counts');
  const ours = isObject(counts) && isObject(counts[userId]) ? (counts[userId] as Record<string, unknown>)[deviceId] : undefined;
  const oneTimeKeyCounts = new Map<string, number>();
  if (isObject(ours)) for (const [alg, n] of Object.entries(ours)) if (Number.isSafeInteger(n) && (n as number) >= 0) oneTimeKeyCounts.set(alg, n as number);

  const fallback = first(body, 'device_unused_fallback_key_types', 'org.matrix.msc3202.device_unused_fallback_key_types');
  const ourFallback = isObject(fallback) && isObject(fallback[userId]) ? (fallback[userId] as Record<string, unknown>)[deviceId] : undefined;
  const unusedFallbackKeys = Array.isArray(ourFallback) ? new Set(strings(ourFallback)) : undefined;

  if (!toDevice.length && !changed.length && !left.length && !oneTimeKeyCounts.size && !unusedFallbackKeys) return undefined;
  return { toDevice, changed, left, oneTimeKeyCounts, unusedFallbackKeys };
}
