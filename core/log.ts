/** pino JSON logs. Secrets are redacted by path, and code never passes them as fields anyway. */
import { pino, type DestinationStream } from 'pino';
import type { Logger } from './adapter.js';

const REDACT = [
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token', 'as_token', 'hs_token',
  '*.as_token', '*.hs_token', 'data', '*.data', 'credentials', '*.credentials', 'authorization', '*.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { app: 'switchboard' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination) as unknown as Logger;
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}
