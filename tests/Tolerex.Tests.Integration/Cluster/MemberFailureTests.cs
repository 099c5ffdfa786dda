using System.Diagnostics;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>Its own cluster, because these tests kill members.</summary>
public sealed class FailureClusterFixture : ClusterFixture
{
    // Reads after a member fails must come from the other members, not from the leader's memory.
    public FailureClusterFixture() => LeaderSettings = new Dictionary<string, string> { ["Tolerex__Leader__ValueCacheBytes"] = "0" };
}

/// <summary>Reads survive crashed members and writes move to the survivors: members are SIGKILLed for real.</summary>
public class MemberFailureTests(FailureClusterFixture cluster) : IClassFixture<FailureClusterFixture>
{
    // The leader's default member timeout is 3 s; allow scheduling slack on a loaded CI machine.
    private static readonly TimeSpan DetectionBound = TimeSpan.FromSeconds(6);

    [Fact(Timeout = 180_000)]
    public async Task Acked_values_survive_killed_members_and_new_writes_succeed()
    {
        await using var c = await cluster.ConnectAsync();
        for (var id = 1; id <= 30; id++)
            Assert.Equal("OK", await c.CommandAsync($"SET {id} value-{id}"));

        // With 30 ids, 2 copies each and least-loaded placement, every member holds replicas.
        var held = await cluster.MembersAsync();
        Assert.All(held, m => Assert.DoesNotMatch(" messages=0 ", m.Line));

        await cluster.KillAsync("member2");

        // Reads right after the crash, before the leader has noticed it.
        for (var id = 1; id <= 30; id++)
            Assert.Equal($"value-{id}", await c.CommandAsync($"GET {id}"));

        // New writes succeed at once: a copy aimed at the dead member moves to a live one.
        var clock = Stopwatch.StartNew();
        for (var id = 31; id <= 60; id++)
            Assert.Equal("OK", await c.CommandAsync($"SET {id} value-{id}"));
        Assert.True(clock.Elapsed < DetectionBound, $"30 SETs after the crash took {clock.Elapsed}");

        await Eventually.HoldsAsync(async () => !(await cluster.AliveMembersAsync()).Contains("member2"), DetectionBound, "member2 marked down");
        for (var id = 1; id <= 60; id++)
            Assert.Equal($"value-{id}", await c.CommandAsync($"GET {id}"));

        // One member left, tolerance 2: SET is refused at once, never acknowledged with fewer copies.
        await cluster.KillAsync("member3");
        await Eventually.HoldsAsync(async () => (await cluster.AliveMembersAsync()).Count == 1, DetectionBound, "member3 marked down");
        Assert.Equal("ERROR: store failed", await c.CommandAsync("SET 61 too-few-members"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 61"));

        // Load tools see the refusals as errors, not successes.
        var bench = await Tolerex.Client.Bench.BenchRunner.RunAsync(new(cluster.Host, cluster.Port, Connections: 2, Requests: 20, StartId: 100), null, TestContext.Current.CancellationToken);
        Assert.Equal((20L, 20L), (bench.Requests, bench.Errors));
    }
}
