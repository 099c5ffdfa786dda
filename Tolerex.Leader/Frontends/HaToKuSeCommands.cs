using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Commands;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Leader.Frontends;

/// <summary>Runs one parsed HaToKuSe command through <see cref="LeaderCommands"/> and writes its reply (and the prompt).</summary>
internal sealed partial class HaToKuSeCommands(LeaderCommands commands, IOptions<LeaderOptions> leaderOptions, ILogger<HaToKuSeCommands> logger)
{
    private readonly LeaderOptions _options = leaderOptions.Value;

    public async ValueTask ExecuteAsync(HaToKuSeCommand command, HaToKuSeSession session, PipeWriter output)
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
                var auth = await commands.AuthenticateAsync(command.Payload);
                session.Authenticated |= auth == AuthOutcome.Accepted;
                HaToKuSeWriter.Write(output, auth switch
                {
                    AuthOutcome.Accepted => HaToKuSeText.Ok,
                    AuthOutcome.Refused => HaToKuSeText.InvalidPassword,
                    _ => HaToKuSeText.NoPasswordSet,
                });
                outcome = auth == AuthOutcome.Accepted ? "ok" : "error";
                break;
            case CommandKind.Empty:
                break;
            case CommandKind.Set:
                AnswerSet(await StartSet(command), started, session, output);
                return;
            case CommandKind.Get:
                var read = await commands.GetAsync(command.Id);
                if (read.Status == ReadStatus.Found)
                {
                    HaToKuSeWriter.WriteValue(output, read.Payload!.Span);
                }
                else
                {
                    HaToKuSeWriter.Write(output, read.Status switch
                    {
                        ReadStatus.NotFound => HaToKuSeText.NotFound,
                        ReadStatus.NoLeader => HaToKuSeText.NoLeader,
                        _ => HaToKuSeText.RetrieveFailed,
                    });
                }
                outcome = read.Status switch { ReadStatus.Found => "ok", ReadStatus.NotFound => "not_found", _ => "error" };
                break;
            case CommandKind.Del:
                var deleted = await commands.DeleteAsync(command.Id);
                HaToKuSeWriter.Write(output, deleted switch
                {
                    DelOutcome.Deleted => HaToKuSeText.Ok,
                    DelOutcome.NotFound => HaToKuSeText.NotFound,
                    _ => HaToKuSeText.DeleteFailed,
                });
                outcome = deleted switch { DelOutcome.Deleted => "ok", DelOutcome.NotFound => "not_found", _ => "error" };
                break;
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
            case CommandKind.Status:
                WriteStatus(output, commands.Status());
                break;
            case CommandKind.Decommission:
                var decommissioned = await commands.DecommissionAsync(Encoding.UTF8.GetString(command.Payload));
                HaToKuSeWriter.Write(output, decommissioned switch
                {
                    DecommissionOutcome.Decommissioned => HaToKuSeText.Ok,
                    DecommissionOutcome.UnknownMember => HaToKuSeText.UnknownMember,
                    _ => HaToKuSeText.DecommissionFailed,
                });
                outcome = decommissioned == DecommissionOutcome.Decommissioned ? "ok" : "error";
                break;
            case CommandKind.Prompt:
                session.Prompt = command.Flag;
                HaToKuSeWriter.Write(output, HaToKuSeText.Ok);
                break;
            case CommandKind.Invalid when command.Error == ProtocolError.LineTooLong:
                LogLineTooLong(logger, _options.MaxLineBytes);
                HaToKuSeWriter.Write(output, HaToKuSeText.ErrorLine(ProtocolError.LineTooLong));
                session.Closing = true;
                LeaderMetrics.Command("INVALID", "error", started);
                return;
            case CommandKind.Invalid when command.Error == ProtocolError.CountNotValid:
                HaToKuSeWriter.WriteCountError(output, _options.MaxBulkCount);
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

    /// <summary>Starts storing a SET (authenticated); its reply is written by <see cref="AnswerSet"/>.</summary>
    public Task<bool> StartSet(in HaToKuSeCommand command) =>
        // The payload is a view of the receive buffer: copy it once, and let gRPC use that copy.
        commands.SetAsync(command.Id, UnsafeByteOperations.UnsafeWrap(command.Payload.ToArray()));

    public static void AnswerSet(bool stored, long started, HaToKuSeSession session, PipeWriter output)
    {
        HaToKuSeWriter.Write(output, stored ? HaToKuSeText.Ok : HaToKuSeText.StoreFailed);
        LeaderMetrics.Command("SET", stored ? "ok" : "error", started);
        if (session.Prompt)
            HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
    }

    private static bool NeedsAuth(HaToKuSeCommand command) => command.Kind switch
    {
        CommandKind.Auth or CommandKind.Help or CommandKind.Ping or CommandKind.Quit or CommandKind.Prompt or CommandKind.Empty => false,
        CommandKind.Invalid => command.Error != ProtocolError.LineTooLong,
        _ => true,
    };

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
        CommandKind.Status => "STATUS",
        CommandKind.Decommission => "DECOMMISSION",
        CommandKind.Prompt => "PROMPT",
        _ => "INVALID",
    };

    /// <summary>True when all N were stored.</summary>
    private async Task<bool> BulkSetAsync(HaToKuSeCommand command, PipeWriter output)
    {
        if (command.Count > _options.MaxBulkCount)
        {
            HaToKuSeWriter.WriteCountError(output, _options.MaxBulkCount);
            return false;
        }

        var result = await commands.BulkSetAsync(command.Count, UnsafeByteOperations.UnsafeWrap(command.Payload.ToArray()));
        if (result.Complete)
        {
            HaToKuSeWriter.WriteBulkOk(output, result.Count, result.First, result.Last);
        }
        else if (result.NoFreeIds)
        {
            HaToKuSeWriter.Write(output, HaToKuSeText.NoFreeIds);
        }
        else
        {
            HaToKuSeWriter.Write(output, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"ERROR: store failed ({result.Stored} of {result.Count} stored, ids {result.First}..{result.Last})\r\n")));
        }

        return result.Complete;
    }

    private static void WriteStatus(PipeWriter output, LeaderStatus status)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"node={status.Node}\r\npid={Environment.ProcessId}\r\nrole={status.Role}\r\nleader={status.Leader}\r\nterm={status.Term}\r\n" +
            $"commit_index={status.CommitIndex}\r\nmembers_alive={status.MembersAlive}\r\nmembers_known={status.MembersKnown}\r\n" +
            $"members_decommissioned={status.MembersDecommissioned}\r\ntolerance={status.Tolerance}\r\nids={status.Ids}\r\n" +
            $"under_replicated={status.UnderReplicated}\r\nrepair={(status.Repairing ? "running" : "idle")}\r\n" +
            $"repaired_copies={status.RepairedCopies}\r\nreclaimed_copies={status.ReclaimedCopies}\r\n");
        HaToKuSeWriter.Write(output, Encoding.ASCII.GetBytes(text));
        HaToKuSeWriter.Write(output, HaToKuSeText.End);
    }

    private void WriteMembers(PipeWriter output)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var m in commands.Members)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "HaToKuSe line longer than {MaxLineBytes} bytes; closing the connection")]
    private static partial void LogLineTooLong(ILogger logger, int maxLineBytes);
}
