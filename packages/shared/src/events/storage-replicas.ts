/**
 * How many copies a NATS cluster keeps of the streams, KV buckets and object stores this process creates
 * (`NATS_REPLICAS`): 1 on a single server, 3 on a 3-node cluster so losing one node loses nothing. Set once at
 * start by runService, read wherever storage is created (one value per process, as the config is).
 */
let replicas = 1;

export function setStorageReplicas(n: number): void {
  replicas = n;
}

export function storageReplicas(): number {
  return replicas;
}
