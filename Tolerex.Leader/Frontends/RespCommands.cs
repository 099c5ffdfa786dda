using System.Buffers;
using System.Globalization;
using System.IO.Enumeration;
using System.IO.Pipelines;
using System.Reflection;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Commands;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.Resp;
using ReadResult = Tolerex.Leader.Replication.ReadResult;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// Runs one parsed RESP request through <see cref="LeaderCommands"/> (the same commands HaToKuSe runs) and writes
/// its RESP2 reply. Keys are ids: 64-bit integers. Beyond the data commands it answers what Redis clients send
/// while connecting (HELLO 2, CLIENT SETNAME, COMMAND, INFO, SELECT 0, CONFIG GET).
/// </summary>
internal sealed class RespCommands(LeaderCommands commands, IOptions<LeaderOptions> leaderOptions)
{
    /// <summary>The Redis version clients are told: the commands they may use are those of RESP2 Redis 7.</summary>
    private const string RedisVersion = "7.0.0";

    private static readonly string TolerexVersion =
        typeof(RespCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    private static readonly long Started = Environment.TickCount64;

    private readonly LeaderOptions _options = leaderOptions.Value;

    public async ValueTask ExecuteAsync(RespRequest request, RespSession session, PipeWriter output)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!session.Authenticated && request.Kind is not (RespCommandKind.Auth or RespCommandKind.Quit or RespCommandKind.Hello))
        {
            RespWriter.Write(output, RespText.NoAuth);
            LeaderMetrics.Command(MetricName(request.Kind), "error", started);
            return;
        }

        var outcome = request.Kind switch
        {
            RespCommandKind.Set => await SetAsync(request, output),
            RespCommandKind.Get => await GetAsync(request, output),
            RespCommandKind.Del => await DeleteAsync(request, output),
            RespCommandKind.Exists => await ExistsAsync(request, output),
            RespCommandKind.MSet => await MSetAsync(request, output),
            RespCommandKind.MGet => await MGetAsync(request, output),
            RespCommandKind.Auth => await AuthAsync(request, session, output),
            RespCommandKind.Hello => await HelloAsync(request, session, output),
            RespCommandKind.Ping => Ping(request, output),
            RespCommandKind.Echo => Echo(request, output),
            RespCommandKind.Quit => Quit(session, output),
            RespCommandKind.Select => Select(request, output),
            RespCommandKind.Client => Client(request, session, output),
            RespCommandKind.Command => Command(request, output),
            RespCommandKind.Info => Info(output),
            RespCommandKind.DbSize => Integer(output, commands.Count),
            RespCommandKind.Config => Config(request, output),
            _ => Unknown(request, output),
        };
        LeaderMetrics.Command(MetricName(request.Kind), outcome, started);
    }

    private async ValueTask<string> SetAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount != 2)
            return WrongArity(request, output);
        if (!request.TryGetId(0, out var id))
            return Error(output, RespText.KeyNotId);
        return SetReply(await StartSet(request, id), output);
    }

    /// <summary>The id of a well-formed SET from an authenticated client, which may be stored beside others (see <see cref="PipelinedSets"/>).</summary>
    public static bool IsPlainSet(RespRequest request, RespSession session, out long id)
    {
        id = 0;
        return request.Kind == RespCommandKind.Set && session.Authenticated && request.ArgumentCount == 2 && request.TryGetId(0, out id);
    }

    /// <summary>Starts storing a SET; its reply is written by <see cref="AnswerSet"/>.</summary>
    public Task<bool> StartSet(RespRequest request, long id) =>
        // The value is a view of the receive buffer: copy it once, and let gRPC use that copy.
        commands.SetAsync(id, UnsafeByteOperations.UnsafeWrap(request.Argument(1).ToArray()));

    public static void AnswerSet(bool stored, long started, PipeWriter output) =>
        LeaderMetrics.Command(MetricName(RespCommandKind.Set), SetReply(stored, output), started);

    private static string SetReply(bool stored, PipeWriter output) => stored ? Reply(output, RespText.Ok) : Error(output, RespText.StoreFailed);

    private async ValueTask<string> GetAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount != 1)
            return WrongArity(request, output);
        if (!request.TryGetId(0, out var id))
            return Error(output, RespText.KeyNotId);
        var read = await commands.GetAsync(id);
        return read.Status switch
        {
            ReadStatus.Found => Value(output, read.Payload!.Span),
            ReadStatus.NotFound => Reply(output, RespText.NullBulk, "not_found"),
            ReadStatus.NoLeader => Error(output, RespText.NoLeader),
            _ => Error(output, RespText.RetrieveFailed),
        };
    }

    private async ValueTask<string> DeleteAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount < 1)
            return WrongArity(request, output);
        if (!TryGetIds(request, 0, 1, out var ids))
            return Error(output, RespText.KeyNotId);
        long deleted = 0;
        foreach (var id in ids)
        {
            switch (await commands.DeleteAsync(id))
            {
                case DelOutcome.Deleted:
                    deleted++;
                    break;
                case DelOutcome.Failed:
                    return Error(output, RespText.DeleteFailed);
            }
        }

        return Integer(output, deleted);
    }

    private async ValueTask<string> ExistsAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount < 1)
            return WrongArity(request, output);
        if (!TryGetIds(request, 0, 1, out var ids))
            return Error(output, RespText.KeyNotId);
        long found = 0;
        foreach (var id in ids)
        {
            switch (await commands.ExistsAsync(id))
            {
                case ReadStatus.Found:
                    found++;
                    break;
                case ReadStatus.NoLeader:
                    return Error(output, RespText.NoLeader);
            }
        }

        return Integer(output, found);
    }

    /// <summary>MSET id value [id value …]: every SET at once (up to BulkConcurrency); OK only when all are stored.</summary>
    private async ValueTask<string> MSetAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount < 2 || request.ArgumentCount % 2 != 0)
            return WrongArity(request, output);
        if (!TryGetIds(request, 0, 2, out var ids))
            return Error(output, RespText.KeyNotId);
        var values = new ByteString[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            values[i] = UnsafeByteOperations.UnsafeWrap(request.Argument(2 * i + 1).ToArray());
        long stored = 0;
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = _options.BulkConcurrency }, async (i, _) =>
        {
            if (await commands.SetAsync(ids[i], values[i]))
                Interlocked.Increment(ref stored);
        });
        if (stored == ids.Length)
            return Reply(output, RespText.Ok);
        RespWriter.WriteError(output, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"ERR store failed ({stored} of {ids.Length} stored)")));
        return "error";
    }

    /// <summary>MGET id [id …]: every GET at once; a missing id is a nil, and any read that fails fails the whole reply.</summary>
    private async ValueTask<string> MGetAsync(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount < 1)
            return WrongArity(request, output);
        if (!TryGetIds(request, 0, 1, out var ids))
            return Error(output, RespText.KeyNotId);
        var reads = new ReadResult[ids.Length];
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = _options.BulkConcurrency },
            async (i, _) => reads[i] = await commands.GetAsync(ids[i]));
        foreach (var read in reads)
        {
            if (read.Status is not (ReadStatus.Found or ReadStatus.NotFound))
                return Error(output, read.Status == ReadStatus.NoLeader ? RespText.NoLeader : RespText.RetrieveFailed);
        }

        RespWriter.WriteArrayHeader(output, reads.Length);
        foreach (var read in reads)
        {
            if (read.Status == ReadStatus.Found)
                RespWriter.WriteBulk(output, read.Payload!.Span);
            else
                RespWriter.Write(output, RespText.NullBulk);
        }

        return "ok";
    }

    /// <summary>AUTH password, or AUTH default password (Redis 6 form; the only user is default).</summary>
    private async ValueTask<string> AuthAsync(RespRequest request, RespSession session, PipeWriter output)
    {
        if (request.ArgumentCount is not (1 or 2))
            return WrongArity(request, output);
        if (request.ArgumentCount == 2 && !IsDefaultUser(request.Argument(0)))
            return Error(output, RespText.WrongPass);
        return AuthReply(output, await AuthenticateAsync(request.Argument(request.ArgumentCount - 1), session));
    }

    private async ValueTask<AuthOutcome> AuthenticateAsync(ReadOnlySequence<byte> password, RespSession session)
    {
        var outcome = await commands.AuthenticateAsync(password);
        session.Authenticated |= outcome == AuthOutcome.Accepted;
        return outcome;
    }

    private static string AuthReply(PipeWriter output, AuthOutcome outcome) => outcome switch
    {
        AuthOutcome.Accepted => Reply(output, RespText.Ok),
        AuthOutcome.Refused => Error(output, RespText.WrongPass),
        _ => Error(output, RespText.NoPasswordSet),
    };

    /// <summary>HELLO [2 [AUTH user password] [SETNAME name]]: RESP2 only; HELLO 3 gets NOPROTO, so clients stay on RESP2.</summary>
    private async ValueTask<string> HelloAsync(RespRequest request, RespSession session, PipeWriter output)
    {
        if (request.ArgumentCount > 0)
        {
            if (!request.TryGetId(0, out var version))
                return Error(output, RespText.NotAnInteger);
            if (version != 2)
                return Error(output, RespText.NoProto);
        }

        for (var i = 1; i < request.ArgumentCount; i++)
        {
            var option = Ascii(request.Argument(i)).ToUpperInvariant();
            if (option == "AUTH" && i + 2 < request.ArgumentCount)
            {
                if (!IsDefaultUser(request.Argument(i + 1)))
                    return Error(output, RespText.WrongPass);
                var auth = await AuthenticateAsync(request.Argument(i + 2), session);
                if (auth != AuthOutcome.Accepted)
                    return AuthReply(output, auth);

                i += 2;
            }
            else if (option == "SETNAME" && i + 1 < request.ArgumentCount)
            {
                session.Name = Ascii(request.Argument(++i));
            }
            else
            {
                return Error(output, RespText.SyntaxError);
            }
        }

        if (!session.Authenticated)
            return Error(output, RespText.NoAuth);
        RespWriter.WriteArrayHeader(output, 14);
        Field("server", "tolerex");
        Field("version", RedisVersion);
        RespWriter.WriteBulk(output, "proto"u8);
        RespWriter.WriteInteger(output, 2);
        RespWriter.WriteBulk(output, "id"u8);
        RespWriter.WriteInteger(output, session.Id);
        Field("mode", "standalone");
        Field("role", "master");
        RespWriter.WriteBulk(output, "modules"u8);
        RespWriter.Write(output, RespText.EmptyArray);
        return "ok";

        void Field(string name, string value)
        {
            RespWriter.WriteBulk(output, Encoding.ASCII.GetBytes(name));
            RespWriter.WriteBulk(output, Encoding.ASCII.GetBytes(value));
        }
    }

    private static string Ping(RespRequest request, PipeWriter output) => request.ArgumentCount switch
    {
        0 => Reply(output, RespText.Pong),
        1 => Bulk(output, request.Argument(0)),
        _ => WrongArity(request, output),
    };

    private static string Echo(RespRequest request, PipeWriter output) =>
        request.ArgumentCount == 1 ? Bulk(output, request.Argument(0)) : WrongArity(request, output);

    private static string Quit(RespSession session, PipeWriter output)
    {
        session.Closing = true;
        return Reply(output, RespText.Ok);
    }

    /// <summary>There is one database: SELECT 0 is accepted (clients send it), any other index is not.</summary>
    private static string Select(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount != 1)
            return WrongArity(request, output);
        if (!request.TryGetId(0, out var db))
            return Error(output, RespText.NotAnInteger);
        return db == 0 ? Reply(output, RespText.Ok) : Error(output, RespText.DbIndexOutOfRange);
    }

    private static string Client(RespRequest request, RespSession session, PipeWriter output)
    {
        if (request.ArgumentCount < 1)
            return WrongArity(request, output);
        switch (Ascii(request.Argument(0)).ToUpperInvariant())
        {
            case "SETNAME" when request.ArgumentCount == 2:
                session.Name = Ascii(request.Argument(1));
                return Reply(output, RespText.Ok);
            case "GETNAME" when request.ArgumentCount == 1:
                if (session.Name is null)
                    return Reply(output, RespText.NullBulk);
                RespWriter.WriteBulk(output, Encoding.UTF8.GetBytes(session.Name));
                return "ok";
            case "ID" when request.ArgumentCount == 1:
                return Integer(output, session.Id);
            case "SETINFO" when request.ArgumentCount == 3:
                return Reply(output, RespText.Ok); // library name and version: nothing to keep
            default:
                return Error(output, RespText.UnknownSubcommand);
        }
    }

    /// <summary>COMMAND, COMMAND DOCS, COMMAND INFO: empty (clients then use no command hints); COMMAND COUNT: the commands served.</summary>
    private static string Command(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount > 0 && Ascii(request.Argument(0)).Equals("COUNT", StringComparison.OrdinalIgnoreCase))
            return Integer(output, Enum.GetValues<RespCommandKind>().Length - 1);
        return Reply(output, RespText.EmptyArray);
    }

    /// <summary>
    /// CONFIG GET: the Redis parameters that describe this server, matched by glob patterns as in Redis; any other
    /// parameter is absent. appendonly yes: every acknowledged write is logged (its index entry synced to disk, its
    /// copies as the members' Durability says); save "": there are no snapshots to ask for. Nothing changes through
    /// CONFIG: settings are configuration.
    /// </summary>
    private string Config(RespRequest request, PipeWriter output)
    {
        if (request.ArgumentCount < 1)
            return WrongArity(request, output);
        switch (Ascii(request.Argument(0)).ToUpperInvariant())
        {
            case "GET" when request.ArgumentCount >= 2:
                break;
            case "GET":
                return WrongArity(request, output);
            case "SET" or "RESETSTAT" or "REWRITE":
                return Error(output, RespText.ConfigReadOnly);
            default:
                return Error(output, RespText.UnknownSubcommand);
        }

        (string Name, string Value)[] parameters =
        [
            ("appendonly", "yes"),
            ("save", ""),
            ("databases", "1"),
            ("port", _options.RespPort.ToString(CultureInfo.InvariantCulture)),
            ("maxclients", _options.MaxConnections.ToString(CultureInfo.InvariantCulture)),
        ];
        var patterns = Enumerable.Range(1, request.ArgumentCount - 1).Select(i => Ascii(request.Argument(i))).ToArray();
        var matched = parameters.Where(p => patterns.Any(pattern => FileSystemName.MatchesSimpleExpression(pattern, p.Name, ignoreCase: true))).ToArray();
        RespWriter.WriteArrayHeader(output, 2 * matched.Length);
        foreach (var (name, value) in matched)
        {
            RespWriter.WriteBulk(output, Encoding.ASCII.GetBytes(name));
            RespWriter.WriteBulk(output, Encoding.ASCII.GetBytes(value));
        }

        return "ok";
    }

    /// <summary>INFO: the sections clients look at (server, clients, replication, keyspace), then Tolerex's own.</summary>
    private string Info(PipeWriter output)
    {
        var status = commands.Status();
        var text = string.Create(CultureInfo.InvariantCulture,
            $"# Server\r\nredis_version:{RedisVersion}\r\ntolerex_version:{TolerexVersion}\r\nredis_mode:standalone\r\n" +
            $"process_id:{Environment.ProcessId}\r\ntcp_port:{_options.RespPort}\r\nuptime_in_seconds:{(Environment.TickCount64 - Started) / 1000}\r\n\r\n" +
            $"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n" +
            $"# Keyspace\r\ndb0:keys={status.Ids},expires=0,avg_ttl=0\r\n\r\n" +
            $"# Tolerex\r\nnode:{status.Node}\r\ngroup_role:{status.Role}\r\ngroup_leader:{status.Leader}\r\nterm:{status.Term}\r\n" +
            $"commit_index:{status.CommitIndex}\r\ntolerance:{status.Tolerance}\r\nmembers_alive:{status.MembersAlive}\r\n" +
            $"members_known:{status.MembersKnown}\r\nunder_replicated:{status.UnderReplicated}\r\n");
        RespWriter.WriteBulk(output, Encoding.UTF8.GetBytes(text));
        return "ok";
    }

    private static string Unknown(RespRequest request, PipeWriter output)
    {
        // Redis names the command (quoted, cut short); control bytes cannot break the reply line.
        var name = Ascii(request.Name.Slice(0, Math.Min(request.Name.Length, 64)));
        var safe = new string(name.Select(c => c is < ' ' or > '~' or '\'' ? '?' : c).ToArray());
        RespWriter.WriteError(output, Encoding.ASCII.GetBytes($"ERR unknown command '{safe}'"));
        return "error";
    }

    private static string WrongArity(RespRequest request, PipeWriter output)
    {
        var name = Ascii(request.Name).ToLowerInvariant();
        RespWriter.WriteError(output, Encoding.ASCII.GetBytes($"ERR wrong number of arguments for '{name}' command"));
        return "error";
    }

    /// <summary>The ids at <paramref name="first"/>, <paramref name="first"/> + <paramref name="step"/>, …; false when one is not an id.</summary>
    private static bool TryGetIds(RespRequest request, int first, int step, out long[] ids)
    {
        ids = new long[(request.ArgumentCount - first + step - 1) / step];
        for (var i = 0; i < ids.Length; i++)
        {
            if (!request.TryGetId(first + i * step, out ids[i]))
                return false;
        }

        return true;
    }

    private static bool IsDefaultUser(ReadOnlySequence<byte> user) => Ascii(user) == "default";

    private static string Ascii(ReadOnlySequence<byte> bytes) => Encoding.ASCII.GetString(bytes);

    private static string Reply(PipeWriter output, ReadOnlySpan<byte> reply, string outcome = "ok")
    {
        RespWriter.Write(output, reply);
        return outcome;
    }

    private static string Error(PipeWriter output, ReadOnlySpan<byte> reply) => Reply(output, reply, "error");

    private static string Value(PipeWriter output, ReadOnlySpan<byte> value)
    {
        RespWriter.WriteBulk(output, value);
        return "ok";
    }

    private static string Bulk(PipeWriter output, ReadOnlySequence<byte> value)
    {
        RespWriter.WriteBulk(output, value);
        return "ok";
    }

    private static string Integer(PipeWriter output, long value)
    {
        RespWriter.WriteInteger(output, value);
        return "ok";
    }

    /// <summary>The command's name in metrics: a small fixed set (label cardinality stays bounded), made once.</summary>
    private static string MetricName(RespCommandKind kind) => MetricNames[(int)kind];

    private static readonly string[] MetricNames = [.. Enum.GetValues<RespCommandKind>().Select(k => k.ToString().ToUpperInvariant())];
}
