/**
 * Text that crosses the bridge is well-formed Unicode. A lone UTF-16 surrogate
 * ("x\ud800y", legal in a JavaScript string and in JSON's \u escapes) has no UTF-8
 * encoding: Synapse answers 500 to it, and an XML stream that carries it is broken.
 * Text passes through here where it enters (what adapters emit, what the homeserver
 * sends) and where it leaves (to Synapse, to an adapter), since a converter's cut can
 * make a lone surrogate out of a well-formed text.
 */

/** `value` with every lone surrogate in every string (keys too) replaced by U+FFFD; shared where nothing changes. */
export function wellFormed<T>(value: T): T {
  return fix(value, 0) as T;
}

/** Deeper than this, a value is not one a network or a homeserver sends: left as it is (JSON.parse limits depth anyway). */
const MAX_DEPTH = 64;

function fix(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = fix(value[i], depth + 1);
      if (v !== value[i]) (out ??= [...value])[i] = v;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  // Keys, not entries: every event passes here twice, and [key, value] pairs are garbage.
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    const key = k.isWellFormed() ? k : k.toWellFormed();
    const fixed = fix(v, depth + 1);
    if (fixed !== v || key !== k) {
      out ??= { ...(value as Record<string, unknown>) };
      if (key !== k) delete out[k];
      out[key] = fixed;
    }
  }
  return out ?? value;
}
