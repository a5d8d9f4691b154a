// The public API: see README.md. Filled in folder by folder.
export {};
