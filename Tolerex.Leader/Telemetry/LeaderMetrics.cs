using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tolerex.Leader.Telemetry;

/// <summary>
/// The leader's instruments (meter <c>Tolerex.Leader</c>), named after OpenTelemetry conventions. In
/// Prometheus they appear as <c>tolerex_leader_commands_total</c>, <c>tolerex_leader_command_duration_seconds</c>, …
/// (see docs/operations.md and deploy/grafana).
/// </summary>
internal static class LeaderMetrics
{
    public static readonly Meter Meter = new("Tolerex.Leader");

    /// <summary>
    /// Latency buckets from 100 µs to 10 s: fsync'd replication sits in the low milliseconds. Declared before the
    /// instruments that use it: static fields are initialized in order, and a histogram created with null advice
    /// falls back to OpenTelemetry's default buckets (0, 5, 10, … seconds), useless for these latencies.
    /// </summary>
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("tolerex.leader.commands", "{command}",
        "HaToKuSe commands executed, by command and outcome");
    private static readonly Histogram<double> CommandDuration = Meter.CreateHistogram("tolerex.leader.command.duration", "s",
        "Time from a command's parse to its reply, by command and outcome", advice: LatencyBuckets);
    private static readonly Histogram<double> ReplicaCallDuration = Meter.CreateHistogram("tolerex.leader.replica.call.duration", "s",
        "Leader→member call latency, by member, operation and outcome", advice: LatencyBuckets);
    private static readonly Counter<long> ReplicaCopies = Meter.CreateCounter<long>("tolerex.leader.replica.copies", "{copy}",
        "Copies sent to members (a StoreBatch call carries several), by member and outcome");
    private static readonly Histogram<double> IndexCommitDuration = Meter.CreateHistogram("tolerex.leader.index.commit.duration", "s",
        "Time to commit one consensus log entry of index records (replicated to a majority of the leader group and flushed), by outcome",
        advice: LatencyBuckets);
    private static readonly Histogram<long> IndexEntryRecords = Meter.CreateHistogram<long>("tolerex.leader.index.entry.records", "{record}",
        "Index records per consensus log entry (group commit)", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096] });
    // Rare events are observable counters, so they export a zero series from the start and dashboards and
    // alerts show 0 rather than "no data".
    private static long _substitutions;
    private static long _storeRetries;
    private static long _readFailovers;
    private static long _readFallbacks;
    private static long _cacheHits;
    private static long _cacheMisses;
    public static readonly UpDownCounter<long> Connections = Meter.CreateUpDownCounter<long>("tolerex.leader.connections", "{connection}",
        "Open client connections, HaToKuSe and RESP");
    private static long _refusedConnections;
    private static long _repairedCopies;
    private static long _reclaimedCopies;

    /// <summary>Copies repair stored (an id given its copies back, or a replica refilled).</summary>
    public static long RepairedCopies => Volatile.Read(ref _repairedCopies);

    /// <summary>Copies reclaimed from members that held what the index no longer names there.</summary>
    public static long ReclaimedCopies => Volatile.Read(ref _reclaimedCopies);

    public static void Repaired() => Interlocked.Increment(ref _repairedCopies);

    public static void Reclaimed(int copies) => Interlocked.Add(ref _reclaimedCopies, copies);

    /// <summary>Rounds in which a SET tried the members again (see <see cref="StoreRetried"/>).</summary>
    public static long StoreRetries => Volatile.Read(ref _storeRetries);
    /// <summary>GETs answered by asking every member (see <see cref="ReadFellBack"/>).</summary>
    public static long ReadFallbacks => Volatile.Read(ref _readFallbacks);

    /// <summary>A copy moved to another member because the first choice failed.</summary>
    public static void Substituted() => Interlocked.Increment(ref _substitutions);

    /// <summary>A SET tried every member and stored too few copies, and tries the members again.</summary>
    public static void StoreRetried() => Interlocked.Increment(ref _storeRetries);

    /// <summary>A GET replica attempt did not return the value (failed, timed out or stale); the next replica is asked.</summary>
    public static void ReadFailedOver() => Interlocked.Increment(ref _readFailovers);

    /// <summary>No indexed replica held the indexed version (a SET never acknowledged), so every member was asked.</summary>
    public static void ReadFellBack() => Interlocked.Increment(ref _readFallbacks);

    /// <summary>A GET of an indexed id was answered from the leader's value cache (hit), or had to ask a member (miss).</summary>
    public static void ValueCacheRead(bool hit) => Interlocked.Increment(ref hit ? ref _cacheHits : ref _cacheMisses);

    /// <summary>GETs answered from the value cache.</summary>
    public static long ValueCacheHits => Volatile.Read(ref _cacheHits);

    /// <summary>A client connection was refused (over MaxConnections).</summary>
    public static void ConnectionRefused() => Interlocked.Increment(ref _refusedConnections);

    public static void Command(string command, string outcome, long startTimestamp)
    {
        var tags = new TagList { { "command", command }, { "outcome", outcome } };
        Commands.Add(1, tags);
        CommandDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
    }

    public static void ReplicaCall(string member, string operation, string outcome, long startTimestamp, int copies = 0)
    {
        var tags = new TagList { { "member", member }, { "operation", operation }, { "outcome", outcome } };
        ReplicaCallDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        if (copies > 0)
            ReplicaCopies.Add(copies, new TagList { { "member", member }, { "outcome", outcome } });
    }

    /// <summary>One consensus log entry of <paramref name="records"/> index records was committed, or failed to be.</summary>
    public static void IndexCommitted(int records, bool committed, long startTimestamp)
    {
        IndexCommitDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new TagList { { "outcome", committed ? "ok" : "error" } });
        if (committed)
            IndexEntryRecords.Record(records);
    }

    private static long _leaderChanges;
    private static long _leaderships;

    /// <summary>This node saw the group's leader change (to another node, or to none while an election runs).</summary>
    public static void LeaderChanged() => Interlocked.Increment(ref _leaderChanges);

    /// <summary>This node became the group's leader and caught up.</summary>
    public static void BecameLeader() => Interlocked.Increment(ref _leaderships);

    /// <summary>The leader group as this node sees it, read at collection time.</summary>
    public static void ObserveGroup(Func<long> term, Func<bool> leading, Func<bool> hasLeader)
    {
        Meter.CreateObservableGauge("tolerex.leader.group.term", term, "{term}", "The leader group's current Raft term as this node knows it");
        Meter.CreateObservableGauge("tolerex.leader.group.is_leader", () => leading() ? 1 : 0, "{node}", "1 while this node leads the group (and has caught up)");
        Meter.CreateObservableGauge("tolerex.leader.group.has_leader", () => hasLeader() ? 1 : 0, "{node}", "1 while this node knows a leader of the group");
        Meter.CreateObservableCounter("tolerex.leader.group.leader_changes", () => Volatile.Read(ref _leaderChanges), "{change}",
            "Changes of the group's leader seen by this node (to another node, or to none while an election runs)");
        Meter.CreateObservableCounter("tolerex.leader.group.leaderships", () => Volatile.Read(ref _leaderships), "{election}",
            "Elections this node won (each time it began to lead)");
    }

    /// <summary>Gauges read from the leader's state at collection time.</summary>
    public static void Observe(Func<int> membersAlive, Func<int> membersKnown, Func<int> indexedIds, Func<int> underReplicated, Func<bool> repairing,
        Func<long> cachedBytes)
    {
        Meter.CreateObservableGauge("tolerex.leader.value_cache.bytes", cachedBytes, "By", "Values the value cache holds, with their 12-byte headers (its ring takes ValueCacheBytes)");
        Meter.CreateObservableCounter("tolerex.leader.value_cache.hits", () => Volatile.Read(ref _cacheHits), "{read}",
            "GETs answered from the leader's value cache");
        Meter.CreateObservableCounter("tolerex.leader.value_cache.misses", () => Volatile.Read(ref _cacheMisses), "{read}",
            "GETs of an indexed id the value cache did not hold, answered by a member");
        Meter.CreateObservableGauge("tolerex.leader.under_replicated.ids", underReplicated, "{id}",
            "Ids with fewer than Tolerance indexed copies on members that are alive and not decommissioned");
        Meter.CreateObservableGauge("tolerex.leader.repair.running", () => repairing() ? 1 : 0, "{pass}", "1 while repair is restoring copies");
        Meter.CreateObservableCounter("tolerex.leader.repair.copies", () => RepairedCopies, "{copy}",
            "Copies repair stored: ids given their copies back after a member was lost, replicas refilled");
        Meter.CreateObservableCounter("tolerex.leader.reconcile.reclaimed", () => ReclaimedCopies, "{copy}",
            "Copies reclaimed from members that came back holding what the index no longer names there");
        Meter.CreateObservableGauge("tolerex.leader.members.alive", membersAlive, "{member}", "Members alive (heartbeating)");
        Meter.CreateObservableGauge("tolerex.leader.members.known", membersKnown, "{member}", "Members ever registered");
        Meter.CreateObservableGauge("tolerex.leader.index.ids", indexedIds, "{id}", "Ids in the leader's index");
        Meter.CreateObservableCounter("tolerex.leader.replica.substitutions", () => Volatile.Read(ref _substitutions), "{copy}",
            "Copies moved to another member because the first choice failed");
        Meter.CreateObservableCounter("tolerex.leader.replica.store_retries", () => Volatile.Read(ref _storeRetries), "{round}",
            "Rounds in which a SET, having tried every member and stored too few copies, tried the members again");
        Meter.CreateObservableCounter("tolerex.leader.read.failovers", () => Volatile.Read(ref _readFailovers), "{attempt}",
            "GET replica attempts that did not return the value (failed, timed out or stale), so the next replica was asked");
        Meter.CreateObservableCounter("tolerex.leader.read.fallbacks", () => Volatile.Read(ref _readFallbacks), "{read}",
            "GETs whose indexed replicas all lacked the indexed version (a SET never acknowledged), answered from every member");
        Meter.CreateObservableCounter("tolerex.leader.connections.refused", () => Volatile.Read(ref _refusedConnections), "{connection}",
            "Client connections refused (over MaxConnections)");
    }
}
