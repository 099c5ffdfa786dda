using System.Diagnostics;
using System.Text;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The HaToKuSe port's limits, on a standalone leader process started with small values.</summary>
public sealed class ConnectionLimitTests : IAsyncLifetime
{
    private StandaloneLeader _leader = null!;

    public async ValueTask InitializeAsync() => _leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
    {
        ["Tolerex__Leader__MaxConnections"] = "4",
        ["Tolerex__Leader__PartialLineTimeout"] = "1s",
        ["Tolerex__Leader__IdleTimeout"] = "5s",
    });

    [Fact(Timeout = 180_000)]
    public async Task Connections_beyond_the_maximum_are_refused_with_one_error_line()
    {
        var open = new List<HaToKuSeConnection>();
        try
        {
            for (var i = 0; i < 4; i++)
                open.Add(await HaToKuSeConnection.OpenAsync("localhost", _leader.Port));
            await using var refused = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port, quiet: false);
            Assert.Equal("ERROR: too many connections", await refused.ReadLineAsync());
            Assert.True(await refused.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal("PONG", await open[0].CommandAsync("PING"));

            // A slot frees up when a client leaves.
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await Eventually.HoldsAsync(async () =>
            {
                await using var c = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
                return await c.CommandAsync("PING") == "PONG";
            }, TimeSpan.FromSeconds(10), "a new connection admitted");
        }
        finally
        {
            foreach (var c in open)
                await c.DisposeAsync();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_slow_sender_is_closed_by_the_partial_line_timeout_while_others_are_served()
    {
        await using var slow = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        await using var normal = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        var clock = Stopwatch.StartNew();
        // One byte every 300 ms: each read is quick, but the line never completes in time.
        var trickle = Task.Run(async () =>
        {
            try
            {
                foreach (var b in Encoding.ASCII.GetBytes("SET 1 never finished"))
                {
                    await slow.SendAsync([b]);
                    await Task.Delay(300, TestContext.Current.CancellationToken);
                }
            }
            catch (IOException)
            {
            }
        }, TestContext.Current.CancellationToken);

        Assert.Equal("PONG", await normal.CommandAsync("PING"));
        Assert.Equal("ERROR: line timeout", await slow.ReadLineAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await slow.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8));
        Assert.Equal("PONG", await normal.CommandAsync("PING"));
        await trickle;
    }

    [Fact(Timeout = 180_000)]
    public async Task An_idle_client_is_closed_after_the_idle_timeout()
    {
        await using var idle = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        var clock = Stopwatch.StartNew();
        Assert.True(await idle.ClosedByServerAsync(TimeSpan.FromSeconds(20)));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4.5), $"closed after {clock.Elapsed}");
    }

    public ValueTask DisposeAsync() => _leader.DisposeAsync();
}
