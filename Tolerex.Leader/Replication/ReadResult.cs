using Google.Protobuf;

namespace Tolerex.Leader.Replication;

internal enum ReadStatus { Found, NotFound, Unavailable }

internal readonly record struct ReadResult(ReadStatus Status, ByteString? Payload = null)
{
    public static ReadResult NotFound => new(ReadStatus.NotFound);
    public static ReadResult Unavailable => new(ReadStatus.Unavailable);
}
