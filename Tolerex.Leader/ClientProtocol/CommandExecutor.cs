using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.IO.Pipelines;
using System.Text;
using Google.Protobuf;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Leader.ClientProtocol;

/// <summary>Executes one parsed HaToKuSe command and writes its reply (and the prompt) into the output.</summary>
internal sealed partial class CommandExecutor(
    ReplicationCoordinator replication,
    MessageIndex index,
    MemberRegistry registry,
    LeaderOptions options,
    ILogger<CommandExecutor> logger)
{
    private readonly byte[] _passwordHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.Password ?? ""));

    public async ValueTask ExecuteAsync(HaToKuSeCommand command, ClientSession session, PipeWriter output)
    {
        if (!session.Authenticated && NeedsAuth(command))
        {
            HaToKuSeWriter.Write(output, HaToKuSeText.AuthRequired);
            if (session.Prompt)
                HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "ok";
        switch (command.Kind)
        {
            case CommandKind.Auth:
                var authReply = await AuthenticateAsync(command, session);
                outcome = authReply.AsSpan().SequenceEqual(HaToKuSeText.Ok) ? "ok" : "error";
                HaToKuSeWriter.Write(output, authReply);
                break;
            case CommandKind.Empty:
                break;
            case CommandKind.Set:
                {
                    using var activity = LeaderTelemetry.Source.StartActivity("SET");
                    activity?.SetTag("tolerex.id", command.Id);
                    // The payload is a view of the receive buffer: copy it once, and let gRPC use that copy.
                    var stored = await replication.SetAsync(command.Id, UnsafeByteOperations.UnsafeWrap(command.Payload.ToArray()));
                    HaToKuSeWriter.Write(output, stored ? HaToKuSeText.Ok : HaToKuSeText.StoreFailed);
                    outcome = stored ? "ok" : "error";
                    break;
                }

            case CommandKind.Get:
                {
                    using var activity = LeaderTelemetry.Source.StartActivity("GET");
                    activity?.SetTag("tolerex.id", command.Id);
                    var read = await replication.GetAsync(command.Id);
                    if (read.Status == ReadStatus.Found)
                        HaToKuSeWriter.WriteValue(output, read.Payload!.Span);
                    else
                        HaToKuSeWriter.Write(output, read.Status == ReadStatus.NotFound ? HaToKuSeText.NotFound : HaToKuSeText.RetrieveFailed);
                    outcome = read.Status switch { ReadStatus.Found => "ok", ReadStatus.NotFound => "not_found", _ => "error" };
                    break;
                }

            case CommandKind.Del:
                {
                    using var activity = LeaderTelemetry.Source.StartActivity("DEL");
                    activity?.SetTag("tolerex.id", command.Id);
                    try
                    {
                        var deleted = await replication.DeleteAsync(command.Id);
                        HaToKuSeWriter.Write(output, deleted ? HaToKuSeText.Ok : HaToKuSeText.NotFound);
                        outcome = deleted ? "ok" : "not_found";
                    }
                    catch (IOException)
                    {
                        HaToKuSeWriter.Write(output, "ERROR: delete failed\r\n"u8);
                        outcome = "error";
                    }

                    break;
                }

            case CommandKind.BulkSet:
                outcome = await BulkSetAsync(command, output) ? "ok" : "error";
                break;
            case CommandKind.Help:
                HaToKuSeWriter.Write(output, HaToKuSeText.Banner);
                HaToKuSeWriter.Write(output, HaToKuSeText.HelpExtra);
                break;
            case CommandKind.Quit:
                HaToKuSeWriter.Write(output, HaToKuSeText.Bye);
                session.Closing = true;
                LeaderMetrics.Command("QUIT", outcome, started);
                return;
            case CommandKind.Ping:
                HaToKuSeWriter.Write(output, HaToKuSeText.Pong);
                break;
            case CommandKind.Members:
                WriteMembers(output);
                break;
            case CommandKind.Prompt:
                session.Prompt = command.Flag;
                HaToKuSeWriter.Write(output, HaToKuSeText.Ok);
                break;
            case CommandKind.Invalid when command.Error == ProtocolError.LineTooLong:
                LogLineTooLong(logger, options.MaxLineBytes);
                HaToKuSeWriter.Write(output, HaToKuSeText.ErrorLine(ProtocolError.LineTooLong));
                session.Closing = true;
                LeaderMetrics.Command("INVALID", "error", started);
                return;
            case CommandKind.Invalid when command.Error == ProtocolError.CountNotValid:
                HaToKuSeWriter.WriteCountError(output, options.MaxBulkCount);
                outcome = "error";
                break;
            default:
                HaToKuSeWriter.Write(output, HaToKuSeText.ErrorLine(command.Error));
                outcome = "error";
                break;
        }

        if (command.Kind != CommandKind.Empty)
            LeaderMetrics.Command(MetricName(command.Kind), outcome, started);

        if (session.Prompt)
            HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
    }

    private static bool NeedsAuth(HaToKuSeCommand command) => command.Kind switch
    {
        CommandKind.Auth or CommandKind.Help or CommandKind.Ping or CommandKind.Quit or CommandKind.Prompt or CommandKind.Empty => false,
        CommandKind.Invalid => command.Error != ProtocolError.LineTooLong,
        _ => true,
    };

    private async ValueTask<byte[]> AuthenticateAsync(HaToKuSeCommand command, ClientSession session)
    {
        if (options.Password is null)
            return HaToKuSeText.NoPasswordSet.ToArray();
        // Hash both sides so the comparison takes the same time whatever the lengths and contents.
        var given = SHA256.HashData(command.Payload.ToArray());
        if (CryptographicOperations.FixedTimeEquals(given, _passwordHash))
        {
            session.Authenticated = true;
            return HaToKuSeText.Ok.ToArray();
        }

        LogAuthFailed(logger);
        await Task.Delay(options.AuthFailureDelay);
        return HaToKuSeText.InvalidPassword.ToArray();
    }

    /// <summary>The command's name in metrics: a small fixed set, so label cardinality stays bounded.</summary>
    private static string MetricName(CommandKind kind) => kind switch
    {
        CommandKind.Set => "SET",
        CommandKind.Get => "GET",
        CommandKind.Del => "DEL",
        CommandKind.BulkSet => "BULK_SET",
        CommandKind.Auth => "AUTH",
        CommandKind.Help => "HELP",
        CommandKind.Ping => "PING",
        CommandKind.Members => "MEMBERS",
        CommandKind.Prompt => "PROMPT",
        _ => "INVALID",
    };

    /// <summary>True when all N were stored.</summary>
    private async Task<bool> BulkSetAsync(HaToKuSeCommand command, PipeWriter output)
    {
        if (command.Count > options.MaxBulkCount)
        {
            HaToKuSeWriter.WriteCountError(output, options.MaxBulkCount);
            return false;
        }

        var count = command.Count;
        var payload = UnsafeByteOperations.UnsafeWrap(command.Payload.ToArray());
        if (!index.TryReserveIds(count, out var first))
        {
            HaToKuSeWriter.Write(output, "ERROR: store failed (no free ids left above the highest id)\r\n"u8);
            return false;
        }

        long stored = 0;
        await Parallel.ForAsync(0L, count, new ParallelOptions { MaxDegreeOfParallelism = options.BulkConcurrency }, async (i, _) =>
        {
            if (await replication.SetAsync(first + i, payload))
                Interlocked.Increment(ref stored);
        });

        if (stored == count)
        {
            HaToKuSeWriter.WriteBulkOk(output, count, first, first + count - 1);
            return true;
        }

        LogBulkIncomplete(logger, stored, count, first);
        HaToKuSeWriter.Write(output, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"ERROR: store failed ({stored} of {count} stored, ids {first}..{first + count - 1})\r\n")));
        return false;
    }

    private void WriteMembers(PipeWriter output)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var m in registry.All)
        {
            var seen = m.LastHeartbeat is { } at
                ? string.Create(CultureInfo.InvariantCulture, $"{at:yyyy-MM-ddTHH:mm:ss.fffZ} ({(now - at).TotalSeconds:0.0}s ago)")
                : "never";
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{m.Address} name={m.Name} alive={(m.Alive ? "true" : "false")} last_heartbeat={seen} messages={m.MessagesHeld} bytes={m.BytesHeld}\r\n");
            HaToKuSeWriter.Write(output, Encoding.UTF8.GetBytes(line));
        }

        HaToKuSeWriter.Write(output, HaToKuSeText.End);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "HaToKuSe AUTH with a wrong password")]
    private static partial void LogAuthFailed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HaToKuSe line longer than {MaxLineBytes} bytes; closing the connection")]
    private static partial void LogLineTooLong(ILogger logger, int maxLineBytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bulk SET incomplete: {Stored} of {Count} stored from id {First}")]
    private static partial void LogBulkIncomplete(ILogger logger, long stored, long count, long first);
}
