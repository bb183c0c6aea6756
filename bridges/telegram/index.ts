export { TelegramAdapter, telegramCapabilities } from './adapter.js';
export type { TelegramConfig } from './config.js';
