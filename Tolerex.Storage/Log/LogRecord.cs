namespace Tolerex.Storage.Log;

/// <summary>
/// One record of a <see cref="RecordLog"/>: a kind the layer above defines (1-255), a key, a version and an
/// opaque payload. The member's copies, the leader's index entries and member registrations all fit it.
/// </summary>
public readonly record struct LogRecord(byte Kind, long Key, long Version, ReadOnlyMemory<byte> Payload);

/// <summary>Where a record starts: its segment and byte offset.</summary>
public readonly record struct RecordPosition(int Segment, long Offset);

/// <summary>
/// What identifies one log's records on disk: two magic bytes (so recovery can find the next record after a
/// damaged one, and never mistakes one log's files for another's) and, for logs written before records were
/// sealed, the format version whose checksums carry no seal.
/// </summary>
public sealed record RecordFormat(byte Magic0, byte Magic1, byte? UnsealedVersion = null)
{
    /// <summary>The version written today.</summary>
    public const byte CurrentVersion = 3;

    internal bool Accepts(byte version) => version == CurrentVersion || version == UnsealedVersion;
}
