using System.Diagnostics;
using System.Text.Json;
using Tolerex.Testing.History;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// Randomized concurrent histories checked for linearizability while faults are injected: members killed and
/// restarted, frozen, partitioned from the leader (both ways, one way), slowed down, and the leader killed and
/// restarted. The short run is part of every test run; the long one (at least 20,000 operations) is explicit:
/// <c>scripts/history.sh</c> runs it, and CI runs that script.
/// </summary>
public sealed class HistoryTests(ITestOutputHelper output)
{
    private static readonly FaultKind[] AllFaults = Enum.GetValues<FaultKind>();

    private static Dictionary<string, string> LeaderSettings() => new()
    {
        ["Tolerex__Leader__Tolerance"] = "2",
        // Members come back within seconds here; repair runs only for the longest outages.
        ["Tolerex__Leader__ReplaceAfter"] = "10s",
        ["Tolerex__Leader__MemberTimeout"] = "2s",
        ["Tolerex__Leader__HeartbeatInterval"] = "500ms",
        // The default value cache: reads it answers must be linearizable too, through every fault.
        ["Tolerex__Leader__ValueCacheBytes"] = "67108864",
    };

    [Fact(Timeout = 600_000)]
    public Task A_short_history_with_every_fault_kind_is_linearizable() =>
        RunAsync(seed: 1, minimumOperations: 3_000, faults: AllFaults, hold: TimeSpan.FromSeconds(3));

    [Fact(Explicit = true, Timeout = 540_000)]
    [Trait("Category", "LongHistory")]
    public Task A_long_history_with_repeated_faults_is_linearizable() =>
        RunAsync(seed: 2, minimumOperations: 20_000, faults: [.. AllFaults, .. AllFaults, .. AllFaults], hold: TimeSpan.FromSeconds(4));

    /// <summary>
    /// A line every 10 s while the history runs. Besides showing progress, it keeps messages flowing to the test
    /// runner: xUnit's VSTest adapter, seeing the test process exit, waits for its last messages only if the
    /// previous one arrived within a minute; a long test that said nothing until its end was reported as a crash
    /// ("Test process crashed with exit code 0") when its final messages were still being read.
    /// </summary>
    private async Task ReportProgressAsync(HistoryWorkload workload, FaultSchedule schedule, Stopwatch clock, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
                output.WriteLine($"{clock.Elapsed.TotalSeconds:0} s: {workload.Operations} operations, {schedule.Log.Count} faults injected");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(int seed, int minimumOperations, FaultKind[] faults, TimeSpan hold)
    {
        var random = new Random(seed);
        await using var cluster = await ProcessCluster.StartAsync(3, LeaderSettings(), proxied: true);
        var workload = HistoryWorkload.Of(cluster, clients: 6, ids: 16, seed);
        var schedule = new FaultSchedule(cluster, random, hold);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(stop.Token);
        var progress = ReportProgressAsync(workload, schedule, clock, stop.Token);
        try
        {
            // Faults in a random order, with fault-free stretches between them; then run on until enough
            // operations are recorded.
            foreach (var kind in faults.OrderBy(_ => random.Next()))
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                await schedule.InjectAsync(kind);
            }

            await Eventually.HoldsAsync(() => Task.FromResult(workload.Operations >= minimumOperations), TimeSpan.FromMinutes(10),
                $"{minimumOperations} operations (have {workload.Operations})");
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            await progress;
        }

        var history = workload.History.ToList();
        var checking = Stopwatch.StartNew();
        var verdict = LinearizabilityChecker.Check(history);
        var unknown = history.Count(o => !o.Known);
        output.WriteLine($"history: {history.Count} operations ({unknown} with unknown outcome) in {clock.Elapsed.TotalSeconds:0} s; " +
            $"faults: {string.Join(", ", schedule.Counts.Select(c => $"{c.Key}×{c.Value}"))}; checked in {checking.Elapsed.TotalSeconds:0.0} s: {verdict}");
        foreach (var line in schedule.Log)
            output.WriteLine("  " + line);
        if (!verdict.Linearizable)
        {
            // The whole history, for offline analysis (Operation records as JSON).
            var saved = Path.Combine(Path.GetTempPath(), $"tolerex-history-seed{seed}-{DateTime.UtcNow:yyyyMMddHHmmss}.json");
            await File.WriteAllTextAsync(saved, JsonSerializer.Serialize(history.Select(o => new { o.Client, o.Id, Kind = o.Kind.ToString(), o.Value, o.Invoked, o.Completed, o.Deleted })));
            Assert.Fail($"history saved to {saved}\n{verdict}");
        }

        Assert.True(history.Count >= minimumOperations);
        Assert.Equal(faults.Length, schedule.Counts.Values.Sum());
        // Most operations saw a definite answer: the faults hurt availability only briefly.
        Assert.True(unknown < history.Count / 10, $"{unknown} of {history.Count} operations had no definite outcome");
    }
}
