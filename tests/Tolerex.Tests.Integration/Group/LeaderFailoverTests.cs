using System.Diagnostics;
using Tolerex.Testing.History;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Group;

/// <summary>
/// The leader group under client load while its leader is killed again and again, and while it has lost its
/// majority: real processes, kill -9, the history checked for linearizability.
/// </summary>
[Collection(nameof(LeaderGroupCollection))]
public sealed class LeaderFailoverTests(ITestOutputHelper output)
{
    private const int Kills = 10;
    private static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(2);

    [Fact(Timeout = 600_000)]
    public async Task Killing_the_leader_ten_times_under_load_loses_no_acknowledged_write_and_another_serves_within_two_seconds()
    {
        await using var group = await LeaderGroupCluster.StartAsync(leaders: 3, members: 3, LeaderGroupCluster.Settings());
        // Eight clients spread over the three nodes; a client whose node goes away reconnects to the next one.
        var workload = new HistoryWorkload((client, attempt) => LeaderGroupCluster.ConnectAsync(group.Nodes[(client + attempt) % group.Nodes.Count]),
            clients: 8, ids: 32, seed: 13);
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(stop.Token);
        var kills = new List<(string Node, long At)>();
        try
        {
            for (var i = 0; i < Kills; i++)
            {
                // Load on the whole group first: some SETs acknowledged since the last node came back.
                var acknowledged = Acknowledged(workload.History, since: kills.Count == 0 ? 0 : kills[^1].At);
                await Eventually.HoldsAsync(() => Task.FromResult(Acknowledged(workload.History, since: kills.Count == 0 ? 0 : kills[^1].At) >= acknowledged + 50),
                    TimeSpan.FromSeconds(60), "50 more SETs acknowledged");
                var leader = await group.CurrentLeaderAsync() ?? throw new InvalidOperationException("no node names a leader");
                await group.KillAsync(leader);
                // Counted from when the process is gone: a SET sent after that can only be served by another node.
                kills.Add((leader.Name, Stopwatch.GetTimestamp()));

                // Another node serves SETs again; then the killed one comes back on its data and follows.
                var killedAt = kills[^1].At;
                await group.WithLogsOnTimeoutAsync(Eventually.HoldsAsync(() => Task.FromResult(FirstAcknowledgedAfter(workload.History, killedAt) is not null),
                    TimeSpan.FromSeconds(60), $"a SET acknowledged after kill {i + 1} of {leader.Name}"));
                await group.RestartAsync(leader);
                await group.WithLogsOnTimeoutAsync(Eventually.HoldsAsync(async () => await group.LeaderAsync(leader) is not null, TimeSpan.FromSeconds(60),
                    $"{leader.Name}, restarted, knows the group's leader"));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        // Every id read once more at the end: an acknowledged write missing here makes the history fail.
        var history = workload.History.ToList();
        await using (var c = await LeaderGroupCluster.ConnectAsync(group.Nodes[0]))
        {
            for (var id = 0; id < 32; id++)
            {
                var invoked = Stopwatch.GetTimestamp();
                var reply = await c.CommandAsync($"GET {id}");
                Assert.False(reply.StartsWith("ERROR", StringComparison.Ordinal), reply);
                history.Add(new Operation(99, id, OperationKind.Get, reply == "NOT_FOUND" ? null : reply, invoked, Stopwatch.GetTimestamp()));
            }
        }

        var gaps = kills.Select(k => Stopwatch.GetElapsedTime(k.At, FirstAcknowledgedAfter(history, k.At)!.Value)).ToList();
        var sorted = gaps.Order().ToList();
        var verdict = LinearizabilityChecker.Check(history);
        output.WriteLine($"{Kills} kill -9 of the leader ({string.Join(", ", kills.Select(k => k.Node))}); " +
            $"gap from the leader's death to the first SET acknowledged after it: p50 {Percentile(sorted, 50).TotalMilliseconds:0} ms, p99 {Percentile(sorted, 99).TotalMilliseconds:0} ms, " +
            $"all: {string.Join(" ", gaps.Select(g => $"{g.TotalMilliseconds:0}"))} ms");
        output.WriteLine($"history: {history.Count} operations, {Acknowledged(history, 0)} SETs acknowledged, " +
            $"{history.Count(o => !o.Known)} with unknown outcome: {verdict}");

        Assert.True(verdict.Linearizable, verdict.ToString());
        Assert.All(gaps, g => Assert.True(g < MaxGap, $"a SET was acknowledged only {g.TotalSeconds:0.00} s after a kill"));
        // Members were never restarted: all three still run and heartbeat to the current leader.
        Assert.True(group.MembersRunning, "every member process still runs");
        await group.WaitForAliveAsync(3, TimeSpan.FromSeconds(30));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_group_that_lost_its_majority_refuses_writes_with_a_clear_error_and_recovers_when_it_returns()
    {
        await using var group = await LeaderGroupCluster.StartAsync(leaders: 3, members: 3, LeaderGroupCluster.Settings());
        var leader = await group.CurrentLeaderAsync() ?? throw new InvalidOperationException("no leader");
        await using (var c = await LeaderGroupCluster.ConnectAsync(leader))
            Assert.Equal("OK", await c.CommandAsync("SET 1 before"));

        // Two of three nodes gone, the leader among them: the survivor cannot elect itself.
        var survivor = group.Nodes.First(n => n != leader);
        var others = group.Nodes.Where(n => n != survivor).ToList();
        foreach (var node in others)
            await group.KillAsync(node);
        await group.WithLogsOnTimeoutAsync(Eventually.HoldsAsync(async () => await FirstLineAsync(survivor, "SET 2 during") == "ERROR: no leader",
            TimeSpan.FromSeconds(60), "ERROR: no leader from the node left alone"));
        Assert.Equal("ERROR: no leader", await FirstLineAsync(survivor, "GET 1"));

        // One node back makes a majority again: writes and reads resume, nothing acknowledged lost.
        await group.RestartAsync(others[0]);
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await LeaderGroupCluster.ConnectAsync(survivor);
            return await c.CommandAsync("SET 3 after") == "OK";
        }, TimeSpan.FromSeconds(60), "a SET acknowledged once the majority is back");
        await using (var c = await LeaderGroupCluster.ConnectAsync(survivor))
        {
            Assert.Equal("before", await c.CommandAsync("GET 1"));
            Assert.Equal("after", await c.CommandAsync("GET 3"));
        }
    }

    /// <summary>The first line a new connection to <paramref name="node"/> gets after sending <paramref name="command"/> (no banner when no node leads).</summary>
    private static async Task<string> FirstLineAsync(LeaderNode node, string command)
    {
        await using var c = await LeaderGroupCluster.ConnectAsync(node, quiet: false);
        await c.SendAsync(command + "\r\n");
        return await c.ReadLineAsync();
    }

    private static int Acknowledged(IEnumerable<Operation> history, long since) =>
        history.Count(o => o is { Kind: OperationKind.Set, Completed: not null } && o.Invoked >= since);

    /// <summary>When the first SET invoked after <paramref name="since"/> was acknowledged; null while none was.</summary>
    private static long? FirstAcknowledgedAfter(IEnumerable<Operation> history, long since) =>
        history.Where(o => o is { Kind: OperationKind.Set, Completed: not null } && o.Invoked >= since).Min(o => o.Completed);

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
