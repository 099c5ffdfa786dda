using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tolerex.Client.Connections;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Session;

/// <summary>One command's reply lines (CRLF removed) and whether it succeeded (no <c>ERROR</c>, connection intact).</summary>
internal sealed record CommandResult(IReadOnlyList<byte[]> Lines, bool Ok);

/// <summary>
/// A client's framed (PROMPT OFF) load connection plus what it measured: every command's reply is read and
/// classified, so errors count as errors and bulk summaries count acknowledgements. The interactive mode
/// (<see cref="InteractiveSession"/>) and the stress mode (<see cref="StressLoad"/>) drive it.
/// </summary>
internal sealed partial class ClientSession : IAsyncDisposable
{
    private readonly LeaderConnection _leader;
    private readonly Prober? _prober;
    private readonly SessionOptions _options;
    private readonly Stream _replies;
    private readonly TextWriter _log;
    private readonly CsvLog? _csv;
    private readonly ArrayBufferWriter<byte> _command = new(4096);
    private long _nextId;

    private ClientSession(LeaderConnection leader, Prober? prober, SessionOptions options, Stream replies, TextWriter log, CsvLog? csv)
    {
        _leader = leader;
        _prober = prober;
        _options = options;
        _replies = replies;
        _log = log;
        _csv = csv;
        _nextId = options.Offset + 1;
    }

    /// <summary>Round trips of every load command (acknowledged or not), in Stopwatch ticks.</summary>
    public LatencySamples Latencies { get; } = new();

    public long Sent { get; private set; }

    public long Acked { get; private set; }

    public long Errors { get; private set; }

    public SessionOptions Options => _options;

    /// <summary>Connects the load connection (and the prober's); null when no leader answers, after saying so.</summary>
    public static async Task<ClientSession?> OpenAsync(IReadOnlyList<(string Host, int Port)> endpoints, SessionOptions options, Stream replies,
        TextWriter log, CsvLog? csv, CancellationToken cancellationToken)
    {
        var banner = new List<string>();
        var leader = await LeaderConnection.ConnectAsync(endpoints, options.Password, options.Tls, log, options.ReconnectFor, cancellationToken, banner);
        Prober? prober = null;
        if (leader is not null && options.Measure && (prober = await Prober.OpenAsync(endpoints, options, csv, log, cancellationToken)) is null)
        {
            await leader.DisposeAsync();
            leader = null;
        }

        if (leader is null)
        {
            await log.WriteLineAsync("error: no Tolerex leader reachable at " + string.Join(", ", endpoints.Select(e => $"{e.Host}:{e.Port}")));
            return null;
        }

        var session = new ClientSession(leader, prober, options, replies, log, csv);
        foreach (var line in banner)
            session.WriteReply(Encoding.UTF8.GetBytes(line));
        await replies.FlushAsync(cancellationToken);
        csv?.WriteHeader();
        return session;
    }

    /// <summary>The next id from this client's range (<c>--offset</c>).</summary>
    public long NextId() => _nextId++;

    /// <summary>Sends one command line (without its line end) and reads its whole reply. Null when the connection
    /// broke and no leader could be reached again; a command cut off by a reconnect counts as an error.</summary>
    public async Task<CommandResult?> RoundTripAsync(byte[] line, CommandKind kind, long payloadSize, CancellationToken cancellationToken,
        Func<IReadOnlyList<byte[]>, bool>? check = null)
    {
        var operation = OperationName(line);
        var probe = _prober?.SampleAsync(ProbeFor(kind), payloadSize, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        IReadOnlyList<byte[]> lines;
        bool ok;
        var lost = false;
        try
        {
            _command.ResetWrittenCount();
            HaToKuSeWriter.Write(_command, line);
            HaToKuSeWriter.Write(_command, HaToKuSeText.NewLine);
            await _leader.Line.SendAsync(_command.WrittenMemory, cancellationToken);
            lines = await ReadReplyAsync(kind, cancellationToken);
            ok = !lines[0].AsSpan().StartsWith("ERROR"u8) && (check is null || check(lines));
        }
        catch (IOException) when (kind == CommandKind.Quit)
        {
            // Leaving anyway: a connection that is already gone needs no goodbye.
            lines = [];
            ok = true;
        }
        catch (IOException e)
        {
            await _log.WriteLineAsync($"connection to {_leader.Address} lost: {e.Message}");
            lost = !await _leader.ReconnectAsync(cancellationToken);
            lines = [Encoding.UTF8.GetBytes(lost ? "ERROR: connection lost" : $"ERROR: connection lost; command not confirmed (now connected to {_leader.Address})")];
            ok = false;
        }

        var ticks = Stopwatch.GetTimestamp() - started;
        var probeUs = probe is null ? null : await probe;
        Record(operation, ok, line.Length + 2, ticks, payloadSize, probeUs);
        return lost ? null : new CommandResult(lines, ok);
    }

    /// <summary>Reads one command's reply: most commands answer one line; MEMBERS ends with END; HELP with the
    /// dashed line after its "More:" section.</summary>
    private async Task<IReadOnlyList<byte[]>> ReadReplyAsync(CommandKind kind, CancellationToken cancellationToken)
    {
        var lines = new List<byte[]>();
        var seenMore = false;
        while (true)
        {
            var line = _leader.Line.Line(await _leader.Line.ReadLineAsync(cancellationToken)).ToArray();
            lines.Add(line);
            if (lines.Count == 1 && line.AsSpan().StartsWith("ERROR"u8))
                return lines;
            var done = kind switch
            {
                CommandKind.Members => line.AsSpan().SequenceEqual("END"u8),
                CommandKind.Help => seenMore && line.AsSpan().StartsWith("-----"u8),
                _ => true,
            };
            if (done)
                return lines;
            seenMore |= line.AsSpan().SequenceEqual("More:"u8);
        }
    }

    public void WriteReply(ReadOnlySpan<byte> line)
    {
        _replies.Write(line);
        _replies.Write(HaToKuSeText.NewLine);
    }

    public Task FlushRepliesAsync(CancellationToken cancellationToken) => _replies.FlushAsync(cancellationToken);

    private void Record(string operation, bool ok, long bytes, long ticks, long payloadSize, double? probeUs)
    {
        Sent++;
        if (ok)
            Acked++;
        else
            Errors++;
        Latencies.Add(ticks);
        var us = LatencySamples.ToUs(ticks);
        _csv?.Row(operation, 1, bytes, us, _options.Mode, ok, payloadSize);
        if (_options.Measure && _csv is null)
        {
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RTT ({operation}): {us:0} us | probe={(probeUs is { } p ? p.ToString("0", CultureInfo.InvariantCulture) + " us" : "failed")} | count=1 | bytes={bytes} | mode={_options.Mode} | status={(ok ? "OK" : "ERROR")}"));
        }
    }

    /// <summary>The upper-cased first word: the CSV's Operation column.</summary>
    private static string OperationName(ReadOnlySpan<byte> line)
    {
        line = line.TrimStart(" \t"u8);
        var end = line.IndexOfAny(" \t"u8);
        var word = end < 0 ? line : line[..end];
        return word.IsEmpty ? "EMPTY" : Encoding.UTF8.GetString(word[..Math.Min(word.Length, 32)]).ToUpperInvariant();
    }

    private static ProbeKind ProbeFor(CommandKind kind) => kind switch
    {
        CommandKind.Set or CommandKind.BulkSet => ProbeKind.Set,
        CommandKind.Get => ProbeKind.Get,
        _ => ProbeKind.Ping,
    };

    /// <summary>The end-of-session summary on the log: counts, and round-trip percentiles of the load and the probes.</summary>
    public async Task WriteSummaryAsync()
    {
        if (Sent == 0)
            return;
        var summary = new StringBuilder()
            .AppendLine()
            .AppendLine("=== SUMMARY ===")
            .AppendLine(CultureInfo.InvariantCulture, $"Commands: {Sent} | acknowledged: {Acked} | errors: {Errors}")
            .AppendLine(Describe("RTT", Latencies));
        if (_prober is not null)
            summary.AppendLine(Describe("Probe RTT", _prober.Samples) + string.Create(CultureInfo.InvariantCulture, $" | failed probes: {_prober.Errors}"));
        await _log.WriteAsync(summary.ToString());

        static string Describe(string what, LatencySamples s) => string.Create(CultureInfo.InvariantCulture,
            $"{what}: samples {s.Count} | min {s.MinUs:0} us | avg {s.MeanUs:0} us | p50 {s.PercentileUs(50):0} us | p99 {s.PercentileUs(99):0} us | max {s.MaxUs:0} us");
    }

    public async ValueTask DisposeAsync()
    {
        await _leader.DisposeAsync();
        if (_prober is not null)
            await _prober.DisposeAsync();
    }
}
