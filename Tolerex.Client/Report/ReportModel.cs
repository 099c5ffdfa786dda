namespace Tolerex.Client.Report;

internal enum InputKind { Csv, Bench }

/// <summary>One input file and how many rows (CSV) or results (bench) it gave.</summary>
internal sealed record ReportInput(string Path, InputKind Kind, int Items);

/// <summary>One client's per-operation figures, and the files its rows came from.</summary>
internal sealed record ClientSummary(string ClientId, IReadOnlyList<string> Files, IReadOnlyList<OperationSummary> Operations, LatencyStats All);

internal sealed record OperationSummary(string Operation, IReadOnlyList<string> Modes, LatencyStats Stats);

/// <summary>Commands per second of OK rows, bucketed from <see cref="Start"/>; one series per ClientID.</summary>
internal sealed record Throughput(DateTimeOffset Start, int BucketSeconds, IReadOnlyList<(string Name, double[] Rates)> Series, double[] Total);

/// <summary>One group of bars in the latency chart: a CSV operation (all clients) or one bench result.</summary>
internal sealed record PercentileGroup(string Label, string Detail, double P50Us, double P95Us, double P99Us, double P999Us);

/// <summary>Tolerex against Redis at the same connections and payload (means when a side ran more than once).</summary>
internal sealed record BenchRatio(int Connections, int PayloadBytes, double TolerexOpsPerSecond, double RedisOpsPerSecond)
{
    public double Ratio => TolerexOpsPerSecond / RedisOpsPerSecond;
}

/// <summary>Everything the page shows, computed once from the parsed inputs.</summary>
internal sealed class ReportModel
{
    /// <summary>A chart much wider than this many points is unreadable, so long runs get wider buckets.</summary>
    internal const int MaxBuckets = 1200;

    public required DateTimeOffset GeneratedAt { get; init; }
    public required IReadOnlyList<ReportInput> Inputs { get; init; }
    public required IReadOnlyList<CsvRecord> Rows { get; init; }
    public required IReadOnlyList<BenchEntry> Bench { get; init; }
    public required IReadOnlyList<ClientSummary> Clients { get; init; }
    public required Throughput? Throughput { get; init; }
    public required IReadOnlyList<PercentileGroup> Percentiles { get; init; }
    public required IReadOnlyList<BenchRatio> Ratios { get; init; }

    public static ReportModel Build(DateTimeOffset generatedAt, IReadOnlyList<ReportInput> inputs, IReadOnlyList<CsvRecord> rows, IReadOnlyList<BenchEntry> bench) => new()
    {
        GeneratedAt = generatedAt,
        Inputs = inputs,
        Rows = rows,
        Bench = bench,
        Clients = SummarizeClients(rows),
        Throughput = BuildThroughput(rows),
        Percentiles = BuildPercentiles(rows, bench),
        Ratios = BuildRatios(bench),
    };

    private static List<ClientSummary> SummarizeClients(IReadOnlyList<CsvRecord> rows) =>
        rows.GroupBy(r => r.ClientId, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(client => new ClientSummary(
                client.Key,
                client.Select(r => r.File).Distinct(StringComparer.Ordinal).ToList(),
                client.GroupBy(r => r.Operation, StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(op => new OperationSummary(op.Key,
                        op.Select(r => r.Mode).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                        LatencyStats.Of(op)))
                    .ToList(),
                LatencyStats.Of(client)))
            .ToList();

    private static Throughput? BuildThroughput(IReadOnlyList<CsvRecord> rows)
    {
        var ok = rows.Where(r => r.Ok).ToList();
        if (ok.Count == 0)
            return null;
        // Whole seconds in UTC, so rows written with different offsets line up.
        var first = ok.Min(r => r.Timestamp.UtcTicks) / TimeSpan.TicksPerSecond;
        var last = ok.Max(r => r.Timestamp.UtcTicks) / TimeSpan.TicksPerSecond;
        var span = last - first + 1;
        var bucket = BucketSeconds(span);
        var buckets = (int)((span + bucket - 1) / bucket);

        var series = new List<(string, double[])>();
        var total = new double[buckets];
        foreach (var client in ok.GroupBy(r => r.ClientId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var rates = new double[buckets];
            foreach (var row in client)
            {
                var i = (int)((row.Timestamp.UtcTicks / TimeSpan.TicksPerSecond - first) / bucket);
                rates[i] += (double)row.Count / bucket;
                total[i] += (double)row.Count / bucket;
            }

            series.Add((client.Key, rates));
        }

        // Shown in the offset of the earliest row: the clock the person who ran the clients was reading.
        var offset = ok.MinBy(r => r.Timestamp.UtcTicks)!.Timestamp.Offset;
        return new Throughput(new DateTimeOffset(first * TimeSpan.TicksPerSecond, TimeSpan.Zero).ToOffset(offset), bucket, series, total);
    }

    internal static int BucketSeconds(long spanSeconds)
    {
        int[] steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
        foreach (var step in steps)
        {
            if (spanSeconds <= (long)step * MaxBuckets)
                return step;
        }

        var days = (spanSeconds + 86400L * MaxBuckets - 1) / (86400L * MaxBuckets);
        return (int)Math.Min(int.MaxValue, days * 86400);
    }

    private static List<PercentileGroup> BuildPercentiles(IReadOnlyList<CsvRecord> rows, IReadOnlyList<BenchEntry> bench)
    {
        var groups = new List<PercentileGroup>();
        foreach (var op in rows.GroupBy(r => r.Operation, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var stats = LatencyStats.Of(op);
            if (stats.P50Us is { } p50)
                groups.Add(new PercentileGroup(op.Key, "CSV, all clients", p50, stats.P95Us!.Value, stats.P99Us!.Value, stats.P999Us!.Value));
        }

        foreach (var entry in bench)
        {
            var r = entry.Result;
            groups.Add(new PercentileGroup("bench " + r.Target, FormattableString.Invariant($"{r.Connections} conns, {r.PayloadBytes} B"), r.P50Us, r.P95Us, r.P99Us, r.P999Us));
        }

        return groups;
    }

    private static List<BenchRatio> BuildRatios(IReadOnlyList<BenchEntry> bench)
    {
        var ratios = new List<BenchRatio>();
        foreach (var run in bench.GroupBy(e => (e.Result.Connections, e.Result.PayloadBytes)).OrderBy(g => g.Key))
        {
            var tolerex = run.Where(e => IsTarget(e, "tolerex")).Select(e => e.Result.OpsPerSecond).ToList();
            var redis = run.Where(e => IsTarget(e, "redis")).Select(e => e.Result.OpsPerSecond).ToList();
            if (tolerex.Count > 0 && redis.Count > 0 && redis.Average() > 0)
                ratios.Add(new BenchRatio(run.Key.Connections, run.Key.PayloadBytes, tolerex.Average(), redis.Average()));
        }

        return ratios;
    }

    private static bool IsTarget(BenchEntry entry, string target) => string.Equals(entry.Result.Target.Trim(), target, StringComparison.OrdinalIgnoreCase);
}
