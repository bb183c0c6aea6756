// ES2024's String well-formedness methods: in Node.js since 20 (V8 11.3); lib is ES2023
// so that nothing newer than Node 20 can be used by mistake.
interface String {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
