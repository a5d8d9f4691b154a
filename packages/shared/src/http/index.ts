// filled in by the http work; see ../../README.md
export {};
