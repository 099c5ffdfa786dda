using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tolerex.Member.Store;

namespace Tolerex.Member;

/// <summary>
/// The member's service-level instruments (meter <c>Tolerex.Member</c>); storage internals (fsync latency,
/// group size) are on <see cref="MessageStore.Meter"/>.
/// </summary>
internal static class MemberMetrics
{
    public static readonly Meter Meter = new("Tolerex.Member");

    private static readonly Counter<long> Operations = Meter.CreateCounter<long>("tolerex.member.operations", "{operation}",
        "Copies stored, retrieved or deleted for the leader, by operation and outcome");
    private static readonly Histogram<double> OperationDuration = Meter.CreateHistogram("tolerex.member.operation.duration", "s",
        "Time to serve one leader call (a StoreBatch covers its whole group commit), by operation and outcome",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    public static void Operation(string operation, string outcome, long startTimestamp, int count = 1)
    {
        var tags = new TagList { { "operation", operation }, { "outcome", outcome } };
        Operations.Add(count, tags);
        OperationDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
    }

    /// <summary>What the member holds, read at collection time.</summary>
    public static void Observe(MessageStore store)
    {
        Meter.CreateObservableGauge("tolerex.member.messages", () => store.Stats.MessagesHeld, "{message}", "Messages held (live ids)");
        Meter.CreateObservableGauge("tolerex.member.bytes", () => store.Stats.BytesHeld, "By", "Payload bytes held (live ids)");
    }
}
