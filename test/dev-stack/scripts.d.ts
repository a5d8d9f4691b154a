// The dev stack's scripts (scripts/dev-stack/*.mjs) are plain JavaScript without type declarations; these tests import
// them as vitest does, as is. For the test type-check (tsconfig.test.json), such a module is untyped.
declare module '*.mjs';
