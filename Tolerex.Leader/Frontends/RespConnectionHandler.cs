using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.Resp;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// One RESP2 connection (Redis clients): every complete request, multibulk or inline, executed in order (pipelined
/// SETs side by side, see <see cref="PipelinedSets"/>). A protocol error is answered and the connection closed, as
/// Redis does.
/// </summary>
internal sealed partial class RespConnectionHandler(
    RespCommands executor,
    LeaderForwarder forwarder,
    ClientConnections connections,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<RespConnectionHandler> logger)
    : ClientConnectionHandler<RespSession>(forwarder, connections, ClientProtocol.Resp, leaderOptions, logger)
{
    // Every argument fits the transport's read buffer (MaxLineBytes and 64 KiB); a request of several large arguments
    // may not, and is refused once this much of it is buffered instead of waiting for bytes the transport holds back.
    private const int RequestSlack = 32 * 1024;

    private readonly RespLimits _limits = new(
        MaxBulkBytes: leaderOptions.Value.MaxLineBytes,
        MaxArguments: (int)Math.Min(int.MaxValue - 1, 2 * leaderOptions.Value.MaxBulkCount + 1),
        MaxInlineBytes: leaderOptions.Value.MaxLineBytes);

    protected override RespSession NewSession() => new() { Authenticated = Options.Password is null, Sets = new PipelinedSets(Options.MaxPipelinedSets, Options.MaxLineBytes) };

    protected override async ValueTask<ReadOnlySequence<byte>> ExecuteAsync(ReadOnlySequence<byte> buffer, RespSession session, PipeWriter output)
    {
        var rest = buffer;
        var sets = session.Sets;
        while (!session.Closing)
        {
            var parsed = RespParser.TryParse(ref buffer, session.Request, _limits);
            if (parsed == RespParseResult.Parsed && RespCommands.IsPlainSet(session.Request, session, out var id))
            {
                var bytes = session.Request.Argument(1).Length;
                if (!sets.CanStart(id, bytes))
                    await AnswerSetsAsync(sets, output);
                var started = PipelinedSets.Now;
                sets.Started(id, bytes, executor.StartSet(session.Request, id), started);
                rest = buffer;
                continue;
            }

            // Any other request, a protocol error or the end of what arrived: the SETs before it are answered first.
            if (!sets.IsEmpty)
                await AnswerSetsAsync(sets, output);
            switch (parsed)
            {
                case RespParseResult.Parsed:
                    await executor.ExecuteAsync(session.Request, session, output);
                    rest = buffer;
                    continue;
                case RespParseResult.Invalid:
                    LogProtocolError(logger, session.Request.Error);
                    output.Write(RespText.Message(session.Request.Error));
                    LeaderMetrics.Command("INVALID", "error", System.Diagnostics.Stopwatch.GetTimestamp());
                    session.Closing = true;
                    return buffer;
                default:
                    // Empty requests the parser skipped are consumed; it never stops inside a partial one.
                    rest = buffer;
                    if (buffer.Length > (long)Options.MaxLineBytes + RequestSlack)
                    {
                        output.Write(RespText.RequestTooLarge);
                        LeaderMetrics.Command("INVALID", "error", System.Diagnostics.Stopwatch.GetTimestamp());
                        session.Closing = true;
                    }

                    return rest;
            }
        }

        return rest;
    }

    private static ValueTask AnswerSetsAsync(PipelinedSets sets, PipeWriter output) =>
        sets.AnswerAllAsync((stored, started) => RespCommands.AnswerSet(stored, started, output));

    [LoggerMessage(Level = LogLevel.Information, Message = "RESP protocol error ({Error}); closing the connection")]
    private static partial void LogProtocolError(ILogger logger, RespError error);
}
