using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

/// <summary>Settings of the segment log.</summary>
internal sealed record LogStoreOptions
{
    public IoMode Io { get; init; } = IoMode.Buffered;
    public Durability Durability { get; init; } = Durability.Fsync;
    /// <summary>A segment is sealed and a new one started once it reaches this size.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Zero-filled space kept ahead of the active segment's end (0 = none); see <see cref="Preallocation"/>.</summary>
    public long PreallocateBytes { get; init; } = 4L * 1024 * 1024;
    /// <summary>Compaction starts when this share of the log is dead (overwritten or deleted records)…</summary>
    public double CompactionThreshold { get; init; } = 0.5;
    /// <summary>…and at least this many bytes are dead.</summary>
    public long CompactionMinBytes { get; init; } = 16L * 1024 * 1024;
    public IStorageFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;
}
