using System.Buffers;
using System.Diagnostics;
using Tolerex.Client.Connections;
using Tolerex.Client.Session;
using Tolerex.Client.Terminal;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Bench;

/// <summary>What the bench talks to: a Tolerex leader (HaToKuSe) or a Redis server (its inline protocol
/// accepts the same <c>SET id value</c> lines), so the same workload runs against both.</summary>
internal enum BenchTarget { Tolerex, Redis }

internal sealed record BenchOptions(
    string Host,
    int Port,
    BenchTarget Target = BenchTarget.Tolerex,
    int Connections = 50,
    long Requests = 100_000,
    TimeSpan? Duration = null,
    int PayloadBytes = 100,
    double GetRatio = 0,
    long KeySpace = 0,
    long StartId = 1,
    // Sent with AUTH on every Tolerex connection when the leader requires a password.
    string? Password = null,
    // Run the workload this long first, unmeasured, so JIT tiering and caches settle (both targets).
    TimeSpan Warmup = default,
    // Connect with TLS (a leader serving HaToKuSe over TLS).
    ClientTls? Tls = null,
    // Commands each connection sends per write before reading their replies (1 = closed loop).
    int Pipeline = 1,
    // Show a progress bar on stderr (only when it is a terminal).
    bool Progress = false);

internal sealed record BenchResult(
    string Target,
    int Connections,
    int PayloadBytes,
    long Requests,
    long Errors,
    double ElapsedSeconds,
    double OpsPerSecond,
    double P50Us,
    double P95Us,
    double P99Us,
    double P999Us,
    int Pipeline = 1,
    double GetRatio = 0,
    // When the measured phase ended (ISO 8601), so appended result files read as a history.
    string? Timestamp = null);

/// <summary>
/// Closed-loop load: each connection sends <see cref="BenchOptions.Pipeline"/> commands in one write and waits
/// for all their replies before the next write (depth 1: one command per round trip), so a command's latency
/// is the full time from its write to its own reply. SET replies other than OK, and any ERROR, count as errors.
/// </summary>
internal static class BenchRunner
{
    public static async Task<BenchResult> RunAsync(BenchOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var payload = new byte[options.PayloadBytes];
        var random = new Random(12345);
        for (var i = 0; i < payload.Length; i++)
            payload[i] = (byte)('a' + random.Next(26));

        var keySpace = options.KeySpace > 0 ? options.KeySpace : Math.Max(1, options.Requests);
        var connections = new LineConnection[options.Connections];
        for (var i = 0; i < connections.Length; i++)
            connections[i] = await LineConnection.OpenAsync(options.Host, options.Port, options.Target == BenchTarget.Tolerex, cancellationToken, options.Password, options.Tls);

        // A SET-only warm-up writes ids above the measured range, so the measured SETs store new messages
        // rather than overwrite the warm-up's (same for both targets). With GETs it uses the measured ids, so
        // the measured GETs find them.
        if (options.Warmup > TimeSpan.Zero)
        {
            var warmup = options.GetRatio > 0 ? options : options with { StartId = options.StartId + keySpace };
            await RunPhaseAsync(warmup, connections, payload, keySpace, options.Warmup, long.MaxValue, null, cancellationToken);
        }
        var label = $"{(options.Target == BenchTarget.Redis ? "redis" : "tolerex")} bench";
        var (elapsed, errors, latencies) = options.Duration is { } duration
            ? await ProgressDisplay.RunAsync(options.Progress, label, duration.TotalSeconds, null, sink =>
                RunPhaseAsync(options, connections, payload, keySpace, options.Duration, options.Requests, Seconds(sink), cancellationToken))
            : await ProgressDisplay.RunAsync(options.Progress, label, options.Requests, " req", sink =>
                RunPhaseAsync(options, connections, payload, keySpace, null, options.Requests, progress ?? Count(sink), cancellationToken));
        foreach (var c in connections)
            await c.DisposeAsync();

        var all = latencies.Where(l => l is not null).SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new BenchResult(options.Target == BenchTarget.Redis ? "redis" : "tolerex", options.Connections, options.PayloadBytes, all.Length, errors, elapsed,
            all.Length / elapsed, LatencySamples.Percentile(all, 50), LatencySamples.Percentile(all, 95), LatencySamples.Percentile(all, 99), LatencySamples.Percentile(all, 99.9),
            options.Pipeline, options.GetRatio, DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
    }

    // Progress is reported from every worker; the bar is redrawn a few times a second whatever the rate.
    private static IProgress<long> Count(IProgressSink sink) => new SynchronousProgress(done => sink.Report(done));

    private static IProgress<long> Seconds(IProgressSink sink)
    {
        var clock = Stopwatch.StartNew();
        return new SynchronousProgress(_ => sink.Report(clock.Elapsed.TotalSeconds));
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    /// <summary>Every connection sends commands until <paramref name="duration"/> passes or <paramref name="requests"/> were sent.</summary>
    private static async Task<(double Elapsed, long Errors, List<long>[] Latencies)> RunPhaseAsync(
        BenchOptions options, LineConnection[] connections, byte[] payload, long keySpace, TimeSpan? duration, long requests,
        IProgress<long>? progress, CancellationToken cancellationToken)
    {
        long next = -1;
        long errors = 0;
        long done = 0;
        var latencies = new List<long>[connections.Length];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        if (duration is { } d)
            stop.CancelAfter(d);

        var workers = Enumerable.Range(0, connections.Length).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<long>(1024);
            var connection = connections[w];
            var depth = Math.Max(1, options.Pipeline);
            var command = new ArrayBufferWriter<byte>((options.PayloadBytes + 64) * depth);
            var isGet = new bool[depth];
            var workerRandom = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                command.ResetWrittenCount();
                var batch = 0;
                for (; batch < depth; batch++)
                {
                    var n = Interlocked.Increment(ref next);
                    if (duration is null && n >= requests)
                        break;
                    var id = options.StartId + (n % keySpace);
                    isGet[batch] = options.GetRatio > 0 && workerRandom.NextDouble() < options.GetRatio;
                    if (isGet[batch])
                        HaToKuSeWriter.WriteGet(command, id);
                    else
                        HaToKuSeWriter.WriteSet(command, id, payload);
                }

                if (batch == 0)
                    break;
                var started = Stopwatch.GetTimestamp();
                var answered = 0;
                try
                {
                    await connection.SendAsync(command.WrittenMemory, cancellationToken);
                    for (; answered < batch; answered++)
                    {
                        var reply = connection.Line(await connection.ReadLineAsync(cancellationToken));
                        if (!await IsSuccessAsync(options.Target, isGet[answered], connection, reply.ToArray(), cancellationToken))
                            Interlocked.Increment(ref errors);
                        mine.Add(Stopwatch.GetTimestamp() - started);
                    }
                }
                catch (IOException)
                {
                    Interlocked.Add(ref errors, batch - answered);
                    break;
                }

                progress?.Report(Interlocked.Add(ref done, batch));
            }
        }, CancellationToken.None)).ToArray();

        await Task.WhenAll(workers);
        return (clock.Elapsed.TotalSeconds, errors, latencies);
    }

    /// <summary>Tolerex: SET must answer OK, and nothing may answer ERROR. Redis: +OK for SET; a GET's bulk
    /// reply ($len, then the value on a second line) or $-1 for a miss; -ERR is an error.</summary>
    private static async ValueTask<bool> IsSuccessAsync(BenchTarget target, bool isGet, LineConnection connection, byte[] reply, CancellationToken cancellationToken)
    {
        if (target == BenchTarget.Tolerex)
            return !reply.AsSpan().StartsWith("ERROR"u8) && (isGet || reply.AsSpan().SequenceEqual("OK"u8));
        if (!isGet)
            return reply.AsSpan().SequenceEqual("+OK"u8);
        if (reply.Length > 0 && reply[0] == (byte)'$' && !reply.AsSpan().SequenceEqual("$-1"u8))
            await connection.ReadLineAsync(cancellationToken);
        return reply.Length > 0 && reply[0] == (byte)'$';
    }
}
