using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>Which way bytes travel through a <see cref="FaultProxy"/>.</summary>
[Flags]
public enum Direction
{
    None = 0,
    /// <summary>From the side that connects (a client, the leader dialling a member) to the target.</summary>
    Upstream = 1,
    /// <summary>From the target back to the side that connected.</summary>
    Downstream = 2,
    Both = Upstream | Downstream,
}

/// <summary>
/// A TCP proxy in front of one target (a member's gRPC port, the leader's), with faults switched at run time:
/// <list type="bullet">
/// <item><see cref="Blackhole"/>: connections are accepted and kept, but bytes in the blackholed directions
/// are held and not delivered until the fault is lifted (what a partition does to TCP: no answer, no reset);
/// one direction only is a one-way partition;</item>
/// <item><see cref="Latency"/> with <see cref="Jitter"/>: each chunk is delivered that much later, in order;</item>
/// <item><see cref="BytesPerSecond"/>: a bandwidth limit per direction and connection;</item>
/// <item><see cref="ResetAll"/> and <see cref="RefuseNew"/>: connections are torn down with a TCP reset.</item>
/// </list>
/// TLS passes through untouched: the proxy only moves bytes.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;
    private volatile Direction _blackhole;

    private FaultProxy(IPEndPoint target)
    {
        _target = target;
        // Port 0: the system picks a free port at bind time, so no other test can take it meanwhile.
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(backlog: 512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>A proxy on a free loopback port, forwarding to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static FaultProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort));

    public int Port { get; }

    /// <summary>The directions whose bytes are held, not delivered.</summary>
    public Direction Blackhole
    {
        get => _blackhole;
        set => _blackhole = value;
    }

    public TimeSpan Latency { get; set; }
    public TimeSpan Jitter { get; set; }
    /// <summary>0: no limit.</summary>
    public long BytesPerSecond { get; set; }
    /// <summary>While set, new connections are reset as soon as they are accepted.</summary>
    public bool RefuseNew { get; set; }

    /// <summary>Lifts every fault.</summary>
    public void Heal()
    {
        Blackhole = Direction.None;
        Latency = Jitter = TimeSpan.Zero;
        BytesPerSecond = 0;
        RefuseNew = false;
    }

    /// <summary>Tears down every open connection with a TCP reset, both ways.</summary>
    public void ResetAll()
    {
        Link[] links;
        lock (_links)
            links = [.. _links];
        foreach (var link in links)
            link.Reset();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        if (RefuseNew)
        {
            Link.Abort(client);
            return;
        }

        var server = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await server.ConnectAsync(_target, _stopping.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // The target is down: the connecting side sees a reset, as it would dialling the target itself.
            Link.Abort(client);
            server.Dispose();
            return;
        }

        var link = new Link(client, server);
        lock (_links)
            _links.Add(link);
        try
        {
            await Task.WhenAll(PumpAsync(client, server, Direction.Upstream, link), PumpAsync(server, client, Direction.Downstream, link));
        }
        finally
        {
            lock (_links)
                _links.Remove(link);
            link.Close();
        }
    }

    /// <summary>Reads chunks as they come and delivers them, in order, once their faults allow.</summary>
    private async Task PumpAsync(Socket from, Socket to, Direction direction, Link link)
    {
        var chunks = Channel.CreateUnbounded<(byte[] Data, int Length, long DueTicks)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var deliver = DeliverAsync(chunks.Reader, to, direction, link);
        try
        {
            while (true)
            {
                var buffer = new byte[64 * 1024];
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, link.Closing);
                if (n == 0)
                    break;
                var delay = Latency + (Jitter > TimeSpan.Zero ? TimeSpan.FromTicks((long)(Jitter.Ticks * Random.Shared.NextDouble())) : TimeSpan.Zero);
                chunks.Writer.TryWrite((buffer, n, Environment.TickCount64 + (long)delay.TotalMilliseconds));
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            // Delivered what came before the end; the other direction carries on until it ends too.
            chunks.Writer.TryComplete();
            await deliver;
        }
    }

    private async Task DeliverAsync(ChannelReader<(byte[] Data, int Length, long DueTicks)> chunks, Socket to, Direction direction, Link link)
    {
        try
        {
            var lastDue = 0L;
            await foreach (var (data, length, due) in chunks.ReadAllAsync(link.Closing))
            {
                // Held, not dropped: a partition delays bytes; TCP delivers them once it heals, in order.
                while ((Blackhole & direction) != 0)
                    await Task.Delay(5, link.Closing);
                lastDue = Math.Max(lastDue, due);
                var wait = lastDue - Environment.TickCount64;
                if (wait > 0)
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), link.Closing);
                await to.SendAsync(data.AsMemory(0, length), SocketFlags.None, link.Closing);
                if (BytesPerSecond is > 0 and var rate)
                    await Task.Delay(TimeSpan.FromSeconds(length / (double)rate), link.Closing);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        ResetAll();
        await _accepting;
        _stopping.Dispose();
    }

    /// <summary>One proxied connection: the connecting side's socket and the target's.</summary>
    private sealed class Link(Socket client, Socket server)
    {
        private readonly CancellationTokenSource _closing = new();
        private int _closed;

        public CancellationToken Closing => _closing.Token;

        public void Reset()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
                return;
            Abort(client);
            Abort(server);
            _closing.Cancel();
        }

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
                return;
            _closing.Cancel();
            client.Dispose();
            server.Dispose();
        }

        /// <summary>Closes with a TCP reset (linger 0) rather than a FIN.</summary>
        public static void Abort(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
