#!/usr/bin/env node
// npm bin wrapper: `npx vgic-harness ...`. Registers the tsx loader from this package (so it
// works from any directory) and then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./vgic-harness.ts');
