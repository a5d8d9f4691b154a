// filled in by the events work; see ../../README.md
export {};
