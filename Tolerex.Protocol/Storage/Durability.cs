namespace Tolerex.Protocol.Storage;

/// <summary>
/// fsync = a write is acknowledged only after the fsync that covers it (the default); os = acknowledged once
/// handed to the operating system: faster, but a machine crash or power loss can lose acknowledged writes
/// that replication did not also place elsewhere (Kafka's default trade-off).
/// </summary>
public enum Durability { Fsync, Os }
