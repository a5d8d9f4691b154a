// filled in by the secrets-client work; see ../../README.md
export {};
