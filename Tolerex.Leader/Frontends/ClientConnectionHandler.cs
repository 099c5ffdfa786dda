using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Telemetry;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Frontends;

/// <summary>The state of one client connection, whatever its protocol.</summary>
internal class ClientSession
{
    /// <summary>True once AUTH succeeded (or when no password is configured).</summary>
    public bool Authenticated { get; set; }
    /// <summary>Set by QUIT or a fatal protocol error: answer, flush, close.</summary>
    public bool Closing { get; set; }
    /// <summary>The connection's SETs in flight.</summary>
    public required PipelinedSets Sets { get; init; }
}

/// <summary>
/// One client connection on Kestrel, for either protocol: every complete command in the receive buffer is
/// executed in order and the replies go out with one flush. Connections beyond MaxConnections, commands left
/// incomplete too long and (optionally) idle clients are closed; on a node that does not lead the group the
/// connection is passed to the leader. The protocol's handler only parses, executes and formats.
/// </summary>
internal abstract partial class ClientConnectionHandler<TSession>(
    LeaderForwarder forwarder,
    ClientConnections connections,
    ClientProtocol protocol,
    IOptions<LeaderOptions> leaderOptions,
    ILogger logger) : ConnectionHandler
    where TSession : ClientSession
{
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();

    protected LeaderOptions Options { get; } = leaderOptions.Value;

    protected abstract TSession NewSession();

    /// <summary>What a new connection gets before its first command (the banner), if anything.</summary>
    protected virtual void Greet(TSession session, PipeWriter output)
    {
    }

    /// <summary>
    /// Parses and executes every complete command at the start of <paramref name="buffer"/> (stopping early once the
    /// session is closing) and returns what is left: the start of an incomplete command, or nothing.
    /// </summary>
    protected abstract ValueTask<ReadOnlySequence<byte>> ExecuteAsync(ReadOnlySequence<byte> buffer, TSession session, PipeWriter output);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var session = NewSession();
        LogConnected(logger, protocol.Name, connection.ConnectionId, connection.RemoteEndPoint?.ToString());
        var admitted = connections.Enter(Options.MaxConnections);

        try
        {
            if (!admitted)
            {
                LeaderMetrics.ConnectionRefused();
                if (_throttle.Allow("refused", out var held))
                    LogRefused(logger, protocol.Name, connection.RemoteEndPoint?.ToString(), Options.MaxConnections, held);
                output.Write(protocol.TooManyConnections.Span);
                await output.FlushAsync(connection.ConnectionClosed);
                return;
            }

            LeaderMetrics.Connections.Add(1);
            // Another node leads the group (or none does yet): the client talks to it through this node.
            if (forwarder.ShouldForward && await forwarder.ForwardAsync(connection, protocol))
                return;

            Greet(session, output);
            if (output.UnflushedBytes > 0)
                await output.FlushAsync(connection.ConnectionClosed);

            // When a partial command first arrived: it must be completed within PartialLineTimeout, however
            // slowly its bytes trickle in (a slow sender cannot hold a connection by sending a byte at a time).
            long? partialSince = null;
            while (!session.Closing)
            {
                if (await ReadAsync(connection, partialSince) is not { } result)
                {
                    if (partialSince is not null)
                    {
                        LogPartialTimeout(logger, protocol.Name, connection.ConnectionId, Options.PartialLineTimeout.TotalSeconds);
                        output.Write(protocol.PartialTimeout.Span);
                        await output.FlushAsync(connection.ConnectionClosed);
                    }

                    break; // idle (Redis closes idle clients without a word) or too slow
                }

                var buffer = result.Buffer;
                try
                {
                    buffer = await ExecuteAsync(buffer, session, output);
                }
                finally
                {
                    // Everything parsed is consumed; a partial command stays buffered until its end arrives.
                    input.AdvanceTo(buffer.Start, result.Buffer.End);
                }

                partialSince = buffer.IsEmpty ? null : partialSince ?? Environment.TickCount64;
                if (output.UnflushedBytes > 0)
                    await output.FlushAsync(connection.ConnectionClosed);

                // The peer is gone; a final command without its end is not a command and is dropped.
                if (result.IsCompleted || result.IsCanceled)
                    break;

                // This node stopped leading the group: once its replies are out the connection closes, and the
                // client's next connection is passed to the new leader (a Redis Sentinel failover disconnects
                // clients the same way).
                if (forwarder.ShouldForward)
                {
                    if (_throttle.Allow("stopped-leading", out var closedBefore))
                        LogClosedNoLongerLeading(logger, protocol.Name, closedBefore);
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException or SocketException
            or System.Security.Authentication.AuthenticationException)
        {
            // The client went away mid-command; nothing to answer.
        }
        finally
        {
            if (admitted)
                LeaderMetrics.Connections.Add(-1);
            connections.Leave();
            LogDisconnected(logger, protocol.Name, connection.ConnectionId);
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    /// <summary>
    /// The next read, or null when the partial-command deadline or the idle timeout passes first. Without a
    /// partial command and with the idle timeout off (the default), it waits as long as the client likes.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // every command waits here: its state is reused
    private async ValueTask<ReadResult?> ReadAsync(ConnectionContext connection, long? partialSince)
    {
        TimeSpan? limit = partialSince is { } since
            ? Options.PartialLineTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - since)
            : Options.IdleTimeout > TimeSpan.Zero ? Options.IdleTimeout : null;
        if (limit is null)
            return await connection.Transport.Input.ReadAsync(connection.ConnectionClosed);
        if (limit <= TimeSpan.Zero)
            return null;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        deadline.CancelAfter(limit.Value);
        try
        {
            return await connection.Transport.Input.ReadAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!connection.ConnectionClosed.IsCancellationRequested)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Protocol} connection from {Remote} refused: {Max} connections already open ({Held} more held back)")]
    private static partial void LogRefused(ILogger logger, string protocol, string? remote, int max, long held);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} connection {ConnectionId}: a command stayed incomplete for {Seconds} s; closing")]
    private static partial void LogPartialTimeout(ILogger logger, string protocol, string connectionId, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} connection closed after its replies: this node no longer leads the group ({Held} more like it since the last line)")]
    private static partial void LogClosedNoLongerLeading(ILogger logger, string protocol, long held);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Protocol} client connected: {ConnectionId} from {Remote}")]
    private static partial void LogConnected(ILogger logger, string protocol, string connectionId, string? remote);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Protocol} client disconnected: {ConnectionId}")]
    private static partial void LogDisconnected(ILogger logger, string protocol, string connectionId);
}
