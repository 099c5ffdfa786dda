using System.Diagnostics.Metrics;

namespace Tolerex.Storage.Log;

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
