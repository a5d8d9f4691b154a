// wired in its own issue
export {};
