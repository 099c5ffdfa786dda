using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace Tolerex.Tests.Integration.Group;

/// <summary>The AppHost with <c>--Parameters:leaders=3</c>: a leader group run by DCP, as <c>dotnet run</c> starts it.</summary>
public sealed class LeaderGroupClusterFixture : ClusterFixture
{
    public LeaderGroupClusterFixture() => Leaders = 3;

    /// <summary>A connection to <paramref name="resource"/>'s own HaToKuSe endpoint.</summary>
    public Task<HaToKuSeConnection> ConnectToAsync(string resource)
    {
        var endpoint = App.GetEndpoint(resource, "hatokuse");
        return HaToKuSeConnection.OpenAsync(endpoint.Host, endpoint.Port);
    }
}

[Collection(nameof(LeaderGroupCollection))]
public sealed class AppHostLeaderGroupTests(LeaderGroupClusterFixture cluster) : IClassFixture<LeaderGroupClusterFixture>
{
    private static async Task<Dictionary<string, string>> StatusAsync(HaToKuSeConnection c)
    {
        await c.SendAsync("STATUS\r\n");
        var status = new Dictionary<string, string>();
        for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
            status[line[..line.IndexOf('=', StringComparison.Ordinal)]] = line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..];
        return status;
    }

    [Fact(Timeout = 240_000)]
    public async Task Every_node_serves_clients_and_the_group_survives_the_loss_of_its_leader_process()
    {
        // Written through one node, read through the others: each passes its clients to the leader.
        await using (var c = await cluster.ConnectToAsync("leader2"))
            Assert.Equal("OK", await c.CommandAsync("SET 7 through-leader2"));
        string leader;
        await using (var c = await cluster.ConnectToAsync("leader3"))
        {
            Assert.Equal("through-leader2", await c.CommandAsync("GET 7"));
            var status = await StatusAsync(c);
            Assert.Equal(("leader", "3"), (status["role"], status["members_alive"]));
            leader = status["node"];
        }

        // The leading node's process is killed: another takes over, serves the value and takes writes.
        await cluster.KillAsync(leader);
        var survivor = cluster.LeaderResources.First(r => r != leader);
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await cluster.ConnectToAsync(survivor);
            return await c.CommandAsync("SET 8 after") == "OK";
        }, TimeSpan.FromSeconds(60), $"a SET through {survivor} once {leader} was killed");
        await using (var c = await cluster.ConnectToAsync(survivor))
        {
            Assert.Equal("through-leader2", await c.CommandAsync("GET 7"));
            var status = await StatusAsync(c);
            Assert.NotEqual(leader, status["node"]);
            Assert.Equal("leader", status["role"]);
        }
    }
}
