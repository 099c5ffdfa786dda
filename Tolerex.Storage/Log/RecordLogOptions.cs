using System.Diagnostics.Metrics;
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

/// <summary>The instruments of one log, named <c>{prefix}.fsync.duration</c>, <c>{prefix}.group.records</c>, …</summary>
public sealed class RecordLogMetrics(Meter meter, string prefix)
{
    internal Counter<long> CorruptRecords { get; } = meter.CreateCounter<long>($"{prefix}.corrupt_records", "{record}",
        "Damaged records skipped or truncated at recovery");
    internal Histogram<double> SyncDuration { get; } = meter.CreateHistogram($"{prefix}.fsync.duration", "s",
        "Time of one fsync of the active segment (one per commit group)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
    internal Histogram<long> GroupSize { get; } = meter.CreateHistogram($"{prefix}.group.records", "{record}",
        "Records committed by one group commit (one write and one fsync)",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
    internal Counter<long> BytesWritten { get; } = meter.CreateCounter<long>($"{prefix}.written", "By",
        "Bytes appended to the log (records, including compaction copies)");
}
