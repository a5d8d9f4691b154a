// filled in by the resilience work; see ../../README.md
export {};
