using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// The fault proxy the fault tests rely on, in front of an echo server on loopback: each fault does what it
/// says, and lifting it lets the held bytes through.
/// </summary>
public sealed class FaultProxyTests : IAsyncLifetime
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private readonly TcpListener _echo = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task _serving = Task.CompletedTask;
    private long _received;
    private FaultProxy _proxy = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _echo.Start();
        _serving = ServeAsync();
        _proxy = FaultProxy.Start(((IPEndPoint)_echo.LocalEndpoint).Port);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _stop.CancelAsync();
        _echo.Stop();
        await _serving;
        _stop.Dispose();
    }

    /// <summary>Echoes every byte back, counting what arrives.</summary>
    private async Task ServeAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _echo.AcceptSocketAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var buffer = new byte[64 * 1024];
                        try
                        {
                            int n;
                            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                            {
                                Interlocked.Add(ref _received, n);
                                await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                            }
                        }
                        catch (Exception e) when (e is SocketException or OperationCanceledException)
                        {
                        }
                    }
                });
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, _proxy.Port, Ct);
        return socket;
    }

    /// <summary>Whether anything arrives on <paramref name="socket"/> within <paramref name="wait"/>.</summary>
    private static async Task<bool> AnythingWithinAsync(Socket socket, TimeSpan wait)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(wait);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.Peek, deadline.Token) > 0;
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return false;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Bytes_pass_unchanged_both_ways()
    {
        using var socket = await ConnectAsync();
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        var receiving = ReceiveAllAsync(socket, data.Length);
        await socket.SendAsync(data, SocketFlags.None, Ct);

        Assert.Equal(data, await receiving);
    }

    private static async Task<byte[]> ReceiveAllAsync(Socket socket, int count)
    {
        var data = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(data.AsMemory(read), SocketFlags.None, Ct);
            if (n == 0)
                throw new EndOfStreamException();
            read += n;
        }

        return data;
    }

    [Theory(Timeout = 30_000)]
    [InlineData(Direction.Upstream)]
    [InlineData(Direction.Downstream)]
    [InlineData(Direction.Both)]
    public async Task A_blackhole_holds_bytes_on_an_open_connection_until_it_is_lifted(Direction direction)
    {
        using var socket = await ConnectAsync();
        _proxy.Blackhole = direction;
        await socket.SendAsync("ping"u8.ToArray(), SocketFlags.None, Ct);

        Assert.False(await AnythingWithinAsync(socket, Quiet));
        // Upstream held: the target never saw the bytes; downstream only: it did, and its answer is held.
        await Eventually.HoldsAsync(() => Task.FromResult(Interlocked.Read(ref _received) == (direction.HasFlag(Direction.Upstream) ? 0 : 4)),
            TimeSpan.FromSeconds(5), "bytes at the target");
        Assert.True(socket.Connected);

        _proxy.Heal();
        Assert.Equal("ping"u8.ToArray(), await ReceiveAllAsync(socket, 4));
    }

    [Fact(Timeout = 30_000)]
    public async Task Latency_delays_every_round_trip()
    {
        using var socket = await ConnectAsync();
        _proxy.Latency = TimeSpan.FromMilliseconds(150);
        _proxy.Jitter = TimeSpan.FromMilliseconds(50);

        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await socket.SendAsync("x"u8.ToArray(), SocketFlags.None, Ct);
            await ReceiveAllAsync(socket, 1);
            // Delayed on the way there and on the way back.
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"round trip {clock.Elapsed.TotalMilliseconds:0} ms");
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_bandwidth_limit_slows_a_transfer_down()
    {
        using var socket = await ConnectAsync();
        _proxy.BytesPerSecond = 256 * 1024;
        var data = new byte[512 * 1024];
        var clock = Stopwatch.StartNew();
        var receiving = ReceiveAllAsync(socket, data.Length);
        await socket.SendAsync(data, SocketFlags.None, Ct);
        await receiving;

        // 512 KiB at 256 KiB/s: about two seconds, less the pause after the last chunk (at most 64 KiB, 0.25 s);
        // an unlimited loopback takes milliseconds.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"took {clock.Elapsed.TotalSeconds:0.00} s");
    }

    [Fact(Timeout = 30_000)]
    public async Task Reset_tears_down_open_connections_and_refusal_new_ones()
    {
        using var open = await ConnectAsync();
        await open.SendAsync("a"u8.ToArray(), SocketFlags.None, Ct);
        await ReceiveAllAsync(open, 1);

        _proxy.ResetAll();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // A reset shows as an error, or as the end of the stream once the peer is gone.
            var n = await open.ReceiveAsync(new byte[1], SocketFlags.None, Ct);
            if (n == 0)
                throw new EndOfStreamException();
        });

        _proxy.RefuseNew = true;
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // The reset may come before the connect completes, or as the first thing read.
            using var refused = await ConnectAsync();
            var n = await refused.ReceiveAsync(new byte[1], SocketFlags.None, Ct);
            if (n == 0)
                throw new EndOfStreamException();
        });

        _proxy.Heal();
        using var healed = await ConnectAsync();
        await healed.SendAsync("b"u8.ToArray(), SocketFlags.None, Ct);
        Assert.Equal("b"u8.ToArray(), await ReceiveAllAsync(healed, 1));
    }
}
