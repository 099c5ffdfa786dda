using System.Collections.Concurrent;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>Its own cluster: these tests SIGKILL and restart nodes on their data directories.</summary>
public sealed class RestartClusterFixture : ClusterFixture
{
    // Values read back after members crash must come from the members' disks, not from the leader's memory.
    public RestartClusterFixture() => LeaderSettings = new Dictionary<string, string> { ["Tolerex__Leader__ValueCacheBytes"] = "0" };

    public async Task StartAsync(string resource)
    {
        var result = await App.ResourceCommands.ExecuteCommandAsync(resource, "resource-start", TestContext.Current.CancellationToken);
        Assert.True(result.Success, result.Message);
    }

    /// <summary>Several connections SET unique ids until stopped, reconnecting whenever the leader goes away;
    /// returns every id that got OK, with its value. Ids whose SET got no OK (an error, or the connection
    /// broke first) go to <paramref name="unacknowledged"/>.</summary>
    public async Task<ConcurrentDictionary<long, string>> LoadAsync(int connections, long idBase, Func<ConcurrentDictionary<long, string>, Task> during,
        ConcurrentDictionary<long, string>? unacknowledged = null)
    {
        var acked = new ConcurrentDictionary<long, string>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            var next = idBase + c * 1_000_000L;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var connection = await ConnectAsync();
                    while (!stop.IsCancellationRequested)
                    {
                        var id = next++;
                        var value = $"value-{id}-{Guid.NewGuid():N}";
                        unacknowledged?.TryAdd(id, value);
                        if (await connection.CommandAsync($"SET {id} {value}") == "OK")
                        {
                            acked[id] = value;
                            unacknowledged?.TryRemove(id, out _);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or EndOfStreamException or OperationCanceledException)
                {
                    await Task.Delay(50); // the leader is down: reconnect, as a client would
                }
            }
        })).ToArray();

        try
        {
            await during(acked);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        return acked;
    }

    public Task WaitForAckedAsync(ConcurrentDictionary<long, string> acked, int count) =>
        Eventually.HoldsAsync(() => Task.FromResult(acked.Count >= count), TimeSpan.FromSeconds(60), $"{count} acknowledged SETs (have {acked.Count})");

    public async Task AssertAllReadBackAsync(ConcurrentDictionary<long, string> acked)
    {
        await using var c = await ConnectAsync();
        foreach (var (id, value) in acked)
            Assert.Equal(value, await c.CommandAsync($"GET {id}"));
    }
}

/// <summary>kill -9 under sustained multi-connection load, then restart on the same data directory.</summary>
public class CrashRecoveryTests(RestartClusterFixture cluster) : IClassFixture<RestartClusterFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 180_000)]
    public async Task A_member_killed_under_load_and_restarted_loses_nothing_acknowledged_and_serves_its_data()
    {
        var acked = await cluster.LoadAsync(8, 1_000_000_000, async acked =>
        {
            await cluster.WaitForAckedAsync(acked, 300);
            await cluster.KillAsync("member2");
            await cluster.WaitForAckedAsync(acked, acked.Count + 300);
        });

        await cluster.AssertAllReadBackAsync(acked);
        await cluster.StartAsync("member2");
        await Eventually.HoldsAsync(async () => (await cluster.AliveMembersAsync()).Contains("member2"), Timeout, "member2 back");
        var restarted = (await cluster.MembersAsync()).Single(m => m.Name == "member2");
        Assert.DoesNotMatch(" messages=0 ", restarted.Line); // it recovered its log

        // With member1 gone too, ids placed on member1+member2 can only come from the restarted member2.
        await cluster.KillAsync("member1");
        await cluster.AssertAllReadBackAsync(acked);
        await cluster.StartAsync("member1");
        await Eventually.HoldsAsync(async () => (await cluster.AliveMembersAsync()).Count == 3, Timeout, "all members back");
    }

    [Fact(Timeout = 180_000)]
    public async Task The_leader_killed_under_load_and_restarted_still_knows_every_acknowledged_id()
    {
        var unacknowledged = new ConcurrentDictionary<long, string>();
        var acked = await cluster.LoadAsync(8, 2_000_000_000, async acked =>
        {
            await cluster.WaitForAckedAsync(acked, 300);
            await cluster.KillAsync("leader");
            var before = acked.Count;
            await cluster.StartAsync("leader");
            // Clients reconnect and writes succeed again once members have re-registered.
            await cluster.WaitForAckedAsync(acked, before + 300);
        }, unacknowledged);

        await cluster.AssertAllReadBackAsync(acked);
        // SETs cut off by the kill were never acknowledged: each reads back as written or as absent, never as
        // an error (their index records may have been durable without their copies).
        Assert.NotEmpty(unacknowledged);
        await using (var reader = await cluster.ConnectAsync())
        {
            foreach (var (id, value) in unacknowledged)
                Assert.Contains(await reader.CommandAsync($"GET {id}"), new[] { value, "NOT_FOUND" });
        }

        await using var c = await cluster.ConnectAsync();
        var some = acked.Keys.First();
        Assert.Equal("OK", await c.CommandAsync($"DEL {some}"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync($"GET {some}"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync($"DEL {some}"));
    }
}
