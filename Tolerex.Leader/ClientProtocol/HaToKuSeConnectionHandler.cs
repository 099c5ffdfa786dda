using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Tolerex.Leader.Configuration;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Leader.ClientProtocol;

/// <summary>
/// One HaToKuSe connection on Kestrel: every complete line in the receive buffer is executed in order and
/// the replies go out with one flush. A line longer than the limit is refused before more of it is buffered.
/// </summary>
internal sealed partial class HaToKuSeConnectionHandler(
    CommandExecutor executor,
    LeaderOptions options,
    ILogger<HaToKuSeConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var session = new ClientSession { Prompt = options.Banner };
        LogConnected(logger, connection.ConnectionId, connection.RemoteEndPoint?.ToString());

        try
        {
            if (session.Prompt)
            {
                HaToKuSeWriter.Write(output, HaToKuSeText.Banner);
                HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
                await output.FlushAsync(connection.ConnectionClosed);
            }

            while (!session.Closing)
            {
                var result = await input.ReadAsync(connection.ConnectionClosed);
                var buffer = result.Buffer;
                var consumed = buffer.Start;
                try
                {
                    while (!session.Closing && HaToKuSeParser.TryParse(ref buffer, options.MaxLineBytes, out var command))
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

                if (output.UnflushedBytes > 0)
                    await output.FlushAsync(connection.ConnectionClosed);

                // The peer is gone; a final line without its LF is dropped, as in the original.
                if (result.IsCompleted || result.IsCanceled)
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The client went away mid-command; nothing to answer.
        }
        finally
        {
            LogDisconnected(logger, connection.ConnectionId);
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "HaToKuSe client connected: {ConnectionId} from {Remote}")]
    private static partial void LogConnected(ILogger logger, string connectionId, string? remote);

    [LoggerMessage(Level = LogLevel.Debug, Message = "HaToKuSe client disconnected: {ConnectionId}")]
    private static partial void LogDisconnected(ILogger logger, string connectionId);
}

/// <summary>Per-connection state.</summary>
internal sealed class ClientSession
{
    public bool Prompt { get; set; }
    /// <summary>Set by QUIT or a fatal protocol error: answer, flush, close.</summary>
    public bool Closing { get; set; }
}
