/**
 * pino JSON logs. Secrets are redacted by path, and code never passes them as fields
 * anyway. Phone numbers in any logged text (a remote id, a chat id, a reason) are
 * masked (identity/phone.ts): a log is kept, shipped and read by more people than the
 * store, and must not become a list of numbers.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from './adapter.js';
import { maskNumbers } from './identity/phone.js';

const REDACT = [
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token', 'as_token', 'hs_token',
  '*.as_token', '*.hs_token', 'data', '*.data', 'credentials', '*.credentials', 'authorization', '*.authorization',
];

/** Fields looked into for numbers; deeper structures are logged as they are. */
const MAX_DEPTH = 3;

/** Masks E.164 numbers anywhere, and national numbers of `regions` where a field is one (an id like `015112345678@example.org`). */
function masker(regions: readonly string[]) {
  const mask = (text: string): string => {
    let out = text.includes('+') ? maskNumbers(text) : text;
    if (regions.length && /[0-9]{6}/.test(out)) for (const region of regions) out = maskNumbers(out, region);
    return out;
  };
  const masked = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return mask(value);
    if (depth >= MAX_DEPTH || value === null || typeof value !== 'object' || value instanceof Error) return value;
    if (Array.isArray(value)) return value.map((v) => masked(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, depth + 1)]));
  };
  return masked;
}

/** `regions`: the networks' `identifiers.region`s, whose national numbers are masked too. */
export function createLogger(level: string, destination?: DestinationStream, regions: readonly string[] = []): Logger {
  const masked = masker(regions);
  return withMaskedBindings(masked, pino(
    {
      level,
      base: { app: 'switchboard' },
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { log: (fields) => masked(fields, 0) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message text too (the last string argument).
          const i = args.length - 1;
          if (typeof args[i] === 'string') args[i] = masked(args[i], 0) as string;
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    destination,
  ));
}

/** pino serialises a child's fields once, past the formatters: they are masked on the way in. */
function withMaskedBindings(masked: ReturnType<typeof masker>, p: PinoLogger): Logger {
  const base = p as unknown as Logger;
  return Object.assign(Object.create(base) as Logger, { child: (fields: object) => withMaskedBindings(masked, p.child(masked(fields, 0) as Record<string, unknown>)) });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
