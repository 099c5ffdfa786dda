using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

/// <summary>Settings of one <see cref="RecordLog"/>.</summary>
public sealed record RecordLogOptions
{
    /// <summary>The magic and versions of this log's records.</summary>
    public required RecordFormat Format { get; init; }
    /// <summary>Segment files are named by a ten-digit number and this suffix.</summary>
    public required string SegmentSuffix { get; init; }
    /// <summary>The file a checkpoint is written to (see <see cref="RecordLog.WriteCheckpoint"/>).</summary>
    public string CheckpointName { get; init; } = "checkpoint";
    public IoMode Io { get; init; } = IoMode.Buffered;
    public Durability Durability { get; init; } = Durability.Fsync;
    /// <summary>The active segment is sealed and a new one started once it would pass this size.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Zero-filled space kept ahead of the active segment's end (0 = none); see <see cref="Preallocation"/>.</summary>
    public long PreallocateBytes { get; init; } = 4L * 1024 * 1024;
    /// <summary>Most bytes gathered into one group commit; a larger single record still goes alone.</summary>
    public int GroupBytes { get; init; } = 1024 * 1024;
    public IStorageFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;
    /// <summary>Where the log reports fsync latency, group sizes, bytes written and damaged records; null for none.</summary>
    public RecordLogMetrics? Metrics { get; init; }
}
