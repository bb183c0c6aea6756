/** JSON that carries byte arrays as `{ "$bytes": "<base64>" }`: the inbox and the loopback control API share it. */

export function stringifyWithBytes(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString('base64') } : v));
}

export function parseWithBytes(s: string): unknown {
  return JSON.parse(s, (_k, v: unknown) =>
    v && typeof v === 'object' && '$bytes' in v && typeof (v as { $bytes: unknown }).$bytes === 'string'
      ? new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, 'base64'))
      : v,
  );
}
