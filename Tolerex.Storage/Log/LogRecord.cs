namespace Tolerex.Storage.Log;

/// <summary>
/// One record of a <see cref="RecordLog"/>: a kind the layer above defines (1-255), a key, a version and an
/// opaque payload. The member's copies, the leader's index entries and member registrations all fit it.
/// </summary>
public readonly record struct LogRecord(byte Kind, long Key, long Version, ReadOnlyMemory<byte> Payload);

/// <summary>Where a record starts: its segment and byte offset.</summary>
public readonly record struct RecordPosition(int Segment, long Offset);
