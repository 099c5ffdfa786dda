using System.Diagnostics;

namespace Tolerex.Tests.Integration.Group;

/// <summary>Three leader nodes agreeing through Raft, with real processes: election, forwarding, failover.</summary>
[Collection(nameof(LeaderGroupCollection))]
public sealed class LeaderGroupTests(ITestOutputHelper output)
{
    [Fact(Timeout = 300_000)]
    public async Task Any_node_serves_clients_and_after_the_leader_is_killed_another_serves_every_acknowledged_value()
    {
        await using var group = await LeaderGroupCluster.StartAsync(leaders: 3, members: 3, LeaderGroupCluster.Settings());
        var leader = await group.LeaderAsync(group.Nodes[0]);
        Assert.NotNull(leader);

        // Every node answers, the followers by forwarding to the leader: the same leader answers STATUS through each.
        foreach (var node in group.Nodes)
            Assert.Equal(leader.Name, (await LeaderGroupCluster.StatusAsync(node))["node"]);
        var follower = group.Nodes.First(n => n != leader);
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", follower.TcpPort))
        {
            for (var id = 1; id <= 40; id++)
                Assert.Equal("OK", await c.CommandAsync($"SET {id} value-{id}"));
        }

        // RESP clients too: the follower passes them to the leader's RESP port.
        await using (var resp = await Resp.RespConnection.OpenAsync(follower.RespPort))
        {
            Assert.Equal("value-40", await resp.CommandAsync("GET", "40"));
            Assert.Equal("OK", await resp.CommandAsync("SET", "41", "value-41"));
            Assert.Contains($"node:{leader.Name}", await resp.CommandAsync("INFO"), StringComparison.Ordinal);
        }

        var term = long.Parse((await LeaderGroupCluster.StatusAsync(leader))["term"], System.Globalization.CultureInfo.InvariantCulture);
        await group.KillAsync(leader);
        var killed = Stopwatch.StartNew();

        // A surviving node serves a SET again once the other two have elected a leader.
        var survivor = group.Nodes.First(n => n != leader);
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await using var c = await HaToKuSeConnection.OpenAsync("localhost", survivor.TcpPort);
                return await c.CommandAsync("SET 1000 after-failover") == "OK";
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "a SET acknowledged after the leader was killed");
        output.WriteLine($"first SET acknowledged {killed.Elapsed.TotalSeconds:0.00} s after the leader's kill -9");

        var status = await LeaderGroupCluster.StatusAsync(survivor);
        Assert.NotEqual(leader.Name, status["node"]);
        var newTerm = long.Parse(status["term"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(newTerm > term, "a new term began");

        // The new leader's metrics say so; the other survivor's say it follows.
        var elected = group.Nodes.Single(n => n.Name == status["node"]);
        var other = group.Nodes.Single(n => n != leader && n != elected);
        Assert.Equal(1, await Faults.FaultCounterTests.ScrapeAsync(elected.MetricsPort, "tolerex_leader_group_is_leader"));
        Assert.True(await Faults.FaultCounterTests.ScrapeAsync(elected.MetricsPort, "tolerex_leader_group_leaderships_total") >= 1);
        Assert.True(await Faults.FaultCounterTests.ScrapeAsync(elected.MetricsPort, "tolerex_leader_group_term") >= newTerm);
        Assert.Equal(0, await Faults.FaultCounterTests.ScrapeAsync(other.MetricsPort, "tolerex_leader_group_is_leader"));
        await Eventually.HoldsAsync(async () => await Faults.FaultCounterTests.ScrapeAsync(other.MetricsPort, "tolerex_leader_group_has_leader") == 1,
            TimeSpan.FromSeconds(15), "the follower knows the new leader");
        Assert.True(await Faults.FaultCounterTests.ScrapeAsync(other.MetricsPort, "tolerex_leader_group_leader_changes_total") >= 1);
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", survivor.TcpPort))
        {
            for (var id = 1; id <= 41; id++)
                Assert.Equal($"value-{id}", await c.CommandAsync($"GET {id}"));
        }

        // The killed node comes back as a follower and serves (by forwarding) the new leader's data.
        await group.RestartAsync(leader);
        await Eventually.HoldsAsync(async () => await group.LeaderAsync(leader) is not null, TimeSpan.FromSeconds(60),
            "the restarted node knows the group's leader");
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", leader.TcpPort))
            Assert.Equal("after-failover", await c.CommandAsync("GET 1000"));
        await group.WaitForAliveAsync(3, TimeSpan.FromSeconds(30));
    }
}
