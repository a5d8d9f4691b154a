// filled in by the nats work; see ../../README.md
export {};
