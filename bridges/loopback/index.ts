export { LoopbackAdapter, loopbackCapabilities, type LoopbackConfig } from './adapter.js';
export { LoopbackWorld, type LoopbackMessage } from './world.js';
