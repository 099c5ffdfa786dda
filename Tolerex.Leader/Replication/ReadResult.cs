using Google.Protobuf;

namespace Tolerex.Leader.Replication;

internal enum ReadStatus
{
    Found,
    NotFound,
    Unavailable,
    /// <summary>This node cannot be sure it still leads the leader group (no lease, no read barrier in time): it serves no read.</summary>
    NoLeader,
}

/// <param name="Version">The version of <paramref name="Payload"/> when found (every copy of a version is the same value).</param>
internal readonly record struct ReadResult(ReadStatus Status, ByteString? Payload = null, long Version = 0)
{
    public static ReadResult NotFound => new(ReadStatus.NotFound);
    public static ReadResult Unavailable => new(ReadStatus.Unavailable);
    public static ReadResult NoLeader => new(ReadStatus.NoLeader);
}
