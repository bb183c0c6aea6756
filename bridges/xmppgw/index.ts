export { GatewayAdapter, gatewayCapabilities } from './adapter.js';
export type { GatewayConfig } from './config.js';
