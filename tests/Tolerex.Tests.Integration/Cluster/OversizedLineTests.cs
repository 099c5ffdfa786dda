using System.Net.Sockets;
using System.Text;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>Whatever a client sends, the leader's memory stays bounded by its configured line limit.</summary>
public sealed class OversizedLineTests : IAsyncLifetime
{
    private const int LineBytes = 64 * 1024 * 1024;
    private const int Senders = 4;
    private StandaloneLeader _leader = null!;

    public async ValueTask InitializeAsync() => _leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>());

    [Fact(Timeout = 180_000)]
    public async Task Four_64_MiB_lines_at_once_are_refused_without_growing_memory()
    {
        // Warm up the normal path first, so the peak measured below is what the big lines add.
        await using (var warm = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port))
        {
            for (var i = 0; i < 100; i++)
                Assert.Equal("NOT_FOUND", await warm.CommandAsync($"GET {i + 1}"));
        }

        var before = _leader.Process.PeakResidentBytes();
        var replies = await Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => SendHugeLineAsync()));

        Assert.All(replies, r => Assert.Equal("ERROR: line too long", r));
        var grown = _leader.Process.PeakResidentBytes() - before;
        // Four 64 MiB lines were sent; buffering even one would add 64 MiB. The limit (4 MiB by default)
        // bounds each connection's buffer instead.
        Assert.True(grown < LineBytes / 2, $"peak memory grew by {grown / (1024 * 1024)} MiB");
        await using var normal = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        Assert.Equal("PONG", await normal.CommandAsync("PING"));
    }

    private async Task<string> SendHugeLineAsync()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("localhost", _leader.Port, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        var chunk = Encoding.ASCII.GetBytes("SET 1 " + new string('x', 1024 * 1024 - 6));
        var reading = ReadReplyAfterBannerAsync(stream);
        try
        {
            for (var sent = 0; sent < LineBytes; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk, TestContext.Current.CancellationToken);
                chunk = Encoding.ASCII.GetBytes(new string('x', chunk.Length));
            }
        }
        catch (IOException)
        {
            // The server closes the connection once the limit is passed, while the rest is still being sent.
        }

        return await reading.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
    }

    /// <summary>The first line after the banner and prompt (which end without a newline, at "&gt;&gt; ").</summary>
    private static async Task<string> ReadReplyAfterBannerAsync(NetworkStream stream)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
                break;
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        var text = received.ToString();
        var error = text.IndexOf("ERROR:", StringComparison.Ordinal);
        return error < 0 ? text : text[error..].Split("\r\n")[0];
    }

    public async ValueTask DisposeAsync() => await _leader.DisposeAsync();
}
