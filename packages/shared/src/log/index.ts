// filled in by the log work; see ../../README.md
export {};
