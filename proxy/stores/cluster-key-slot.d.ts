// Types for cluster-key-slot 1.1.1 (the version ioredis pins; it ships none): the Redis Cluster slot of a key.
declare module 'cluster-key-slot' {
  /** CRC16 of the key (or of its {hash tag}) modulo 16384. */
  export default function calculateSlot(key: string | Buffer): number;
}
