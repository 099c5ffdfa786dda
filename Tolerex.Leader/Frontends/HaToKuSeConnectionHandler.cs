using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.HaToKuSe;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// One HaToKuSe connection on Kestrel: every complete line in the receive buffer is executed in order and
/// the replies go out with one flush. A line longer than the limit is refused before more of it is buffered;
/// connections beyond MaxConnections, lines left incomplete too long and (optionally) idle clients are closed.
/// </summary>
internal sealed partial class HaToKuSeConnectionHandler(
    HaToKuSeCommands executor,
    LeaderForwarder forwarder,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<HaToKuSeConnectionHandler> logger) : ConnectionHandler
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    private int _connections;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var session = new HaToKuSeSession { Prompt = _options.Banner, Authenticated = _options.Password is null };
        LogConnected(logger, connection.ConnectionId, connection.RemoteEndPoint?.ToString());
        var admitted = Interlocked.Increment(ref _connections) <= _options.MaxConnections;

        try
        {
            if (!admitted)
            {
                LeaderMetrics.ConnectionRefused();
                if (_throttle.Allow("refused", out var held))
                    LogRefused(logger, connection.RemoteEndPoint?.ToString(), _options.MaxConnections, held);
                HaToKuSeWriter.Write(output, HaToKuSeText.TooManyConnections);
                await output.FlushAsync(connection.ConnectionClosed);
                return;
            }

            LeaderMetrics.Connections.Add(1);
            // Another node leads the group (or none does yet): the client talks to it through this node.
            if (forwarder.ShouldForward && await forwarder.ForwardAsync(connection))
                return;

            if (session.Prompt)
            {
                HaToKuSeWriter.Write(output, HaToKuSeText.Banner);
                HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
                await output.FlushAsync(connection.ConnectionClosed);
            }

            // When a partial line first arrived: it must be completed within PartialLineTimeout, however
            // slowly its bytes trickle in (a slow sender cannot hold a connection by sending a byte at a time).
            long? partialSince = null;
            while (!session.Closing)
            {
                if (await ReadAsync(connection, partialSince) is not { } result)
                {
                    if (partialSince is not null)
                    {
                        LogPartialLineTimeout(logger, connection.ConnectionId, _options.PartialLineTimeout.TotalSeconds);
                        HaToKuSeWriter.Write(output, HaToKuSeText.LineTimeout);
                        await output.FlushAsync(connection.ConnectionClosed);
                    }

                    break; // idle (Redis closes idle clients without a word) or too slow
                }

                var buffer = result.Buffer;
                var consumed = buffer.Start;
                try
                {
                    while (!session.Closing && HaToKuSeParser.TryParse(ref buffer, _options.MaxLineBytes, out var command))
                    {
                        await executor.ExecuteAsync(command, session, output);
                        consumed = buffer.Start;
                    }
                }
                finally
                {
                    // Everything parsed is consumed; a partial line stays buffered until its end arrives.
                    input.AdvanceTo(consumed, buffer.End);
                }

                partialSince = buffer.IsEmpty ? null : partialSince ?? Environment.TickCount64;
                if (output.UnflushedBytes > 0)
                    await output.FlushAsync(connection.ConnectionClosed);

                // The peer is gone; a final line without its LF is not a command and is dropped.
                if (result.IsCompleted || result.IsCanceled)
                    break;

                // This node stopped leading the group: once its replies are out the connection closes, and the
                // client's next connection is passed to the new leader (a Redis Sentinel failover disconnects
                // clients the same way).
                if (forwarder.ShouldForward)
                {
                    if (_throttle.Allow("stopped-leading", out var closedBefore))
                        LogClosedNoLongerLeading(logger, closedBefore);
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
            Interlocked.Decrement(ref _connections);
            LogDisconnected(logger, connection.ConnectionId);
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    /// <summary>
    /// The next read, or null when the partial-line deadline or the idle timeout passes first. Without a
    /// partial line and with the idle timeout off (the default), it waits as long as the client likes.
    /// </summary>
    private async ValueTask<ReadResult?> ReadAsync(ConnectionContext connection, long? partialSince)
    {
        TimeSpan? limit = partialSince is { } since
            ? _options.PartialLineTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - since)
            : _options.IdleTimeout > TimeSpan.Zero ? _options.IdleTimeout : null;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "HaToKuSe connection from {Remote} refused: {Max} connections already open ({Held} more held back)")]
    private static partial void LogRefused(ILogger logger, string? remote, int max, long held);

    [LoggerMessage(Level = LogLevel.Information, Message = "HaToKuSe connection {ConnectionId}: a line stayed incomplete for {Seconds} s; closing")]
    private static partial void LogPartialLineTimeout(ILogger logger, string connectionId, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "HaToKuSe connection closed after its replies: this node no longer leads the group ({Held} more like it since the last line)")]
    private static partial void LogClosedNoLongerLeading(ILogger logger, long held);

    [LoggerMessage(Level = LogLevel.Debug, Message = "HaToKuSe client connected: {ConnectionId} from {Remote}")]
    private static partial void LogConnected(ILogger logger, string connectionId, string? remote);

    [LoggerMessage(Level = LogLevel.Debug, Message = "HaToKuSe client disconnected: {ConnectionId}")]
    private static partial void LogDisconnected(ILogger logger, string connectionId);
}
