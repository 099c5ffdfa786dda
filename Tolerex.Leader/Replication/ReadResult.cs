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

internal readonly record struct ReadResult(ReadStatus Status, ByteString? Payload = null)
{
    public static ReadResult NotFound => new(ReadStatus.NotFound);
    public static ReadResult Unavailable => new(ReadStatus.Unavailable);
    public static ReadResult NoLeader => new(ReadStatus.NoLeader);
}
