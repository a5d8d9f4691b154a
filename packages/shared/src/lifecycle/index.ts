// filled in by the lifecycle work; see ../../README.md
export {};
