// filled in by the config work; see ../../README.md
export {};
