using System.Net.Sockets;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>Many idle and slow connections must not stop a normal client from being served.</summary>
public sealed class ConnectionLoadTests : IAsyncLifetime
{
    private StandaloneLeader _leader = null!;

    public async ValueTask InitializeAsync() => _leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
    {
        ["Tolerex__Leader__PartialLineTimeout"] = "2s",
    });

    [Fact(Timeout = 180_000)]
    public async Task A_thousand_idle_connections_and_a_hundred_slow_senders_leave_normal_clients_served()
    {
        var ct = TestContext.Current.CancellationToken;
        var idle = new List<TcpClient>();
        var slow = new List<HaToKuSeConnection>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var tcp = new TcpClient();
                await tcp.ConnectAsync("localhost", _leader.Port, ct);
                idle.Add(tcp);
            }

            for (var i = 0; i < 100; i++)
                slow.Add(await HaToKuSeConnection.OpenAsync("localhost", _leader.Port, quiet: false));
            using var stopTrickle = new CancellationTokenSource();
            var trickle = Task.Run(async () =>
            {
                // Every slow sender adds a byte every 500 ms to a line it never finishes.
                for (var round = 0; !stopTrickle.IsCancellationRequested; round++)
                {
                    foreach (var s in slow)
                    {
                        try
                        {
                            await s.SendAsync(round == 0 ? "SET 1 "u8.ToArray() : "x"u8.ToArray());
                        }
                        catch (IOException)
                        {
                        }
                    }

                    await Task.Delay(500, CancellationToken.None);
                }
            }, ct);

            await using (var normal = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port))
            {
                for (var i = 0; i < 20; i++)
                    Assert.Equal("PONG", await normal.CommandAsync("PING"));
                Assert.Equal("NOT_FOUND", await normal.CommandAsync("GET 1"));
            }

            // Every slow sender is cut off by the partial-line timeout; idle connections are left alone.
            foreach (var s in slow)
                Assert.True(await s.ClosedByServerAsync(TimeSpan.FromSeconds(20)), "a slow sender was not closed");
            await stopTrickle.CancelAsync();
            await trickle;
            Assert.All(idle, tcp => Assert.False(ClosedByPeer(tcp.Client), "an idle connection was closed"));
            await using var after = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
            Assert.Equal("PONG", await after.CommandAsync("PING"));
        }
        finally
        {
            foreach (var tcp in idle)
                tcp.Dispose();
            foreach (var s in slow)
                await s.DisposeAsync();
        }
    }

    /// <summary>True when the peer has closed: after the banner is drained, the socket reads as ready with nothing to read.</summary>
    private static bool ClosedByPeer(Socket socket)
    {
        var buffer = new byte[4096];
        while (socket.Available > 0)
            socket.Receive(buffer);
        return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
    }

    public ValueTask DisposeAsync() => _leader.DisposeAsync();
}
