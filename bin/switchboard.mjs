#!/usr/bin/env node
// Entry point of the `switchboard` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../core/cli/main.ts');
