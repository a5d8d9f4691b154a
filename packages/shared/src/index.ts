// The public API of @vigil/shared: see README.md. One export block per folder.
export * from './errors/index.js';
