namespace Tolerex.Storage;

/// <summary>
/// fsync: a write is acknowledged only after the sync that covers it (the default). os: acknowledged once
/// handed to the operating system; faster, but a machine crash or power loss can lose acknowledged writes
/// that replication did not also place elsewhere (Kafka's default trade-off).
/// </summary>
public enum Durability { Fsync, Os }

/// <summary>
/// buffered: group commit, one write and one sync for every record queued meanwhile (the default).
/// unbuffered: each record written and synced on its own.
/// </summary>
public enum IoMode { Buffered, Unbuffered }
