// filled in by the tracing work; see ../../README.md
export {};
