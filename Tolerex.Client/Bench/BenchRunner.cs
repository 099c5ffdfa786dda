using System.Buffers;
using System.Diagnostics;
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
    /// <summary>Sent with AUTH on every Tolerex connection when the leader requires a password.</summary>
    string? Password = null,
    /// <summary>Run the workload this long first, unmeasured, so JIT tiering and caches settle (both targets).</summary>
    TimeSpan Warmup = default,
    /// <summary>Connect with TLS (a leader serving HaToKuSe over TLS).</summary>
    ClientTls? Tls = null);

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
    double P999Us);

/// <summary>
/// Closed-loop load: each connection sends one command and waits for its reply (pipeline depth 1), so
/// latency is the full round trip a client sees. SET replies other than OK, and any ERROR, count as errors.
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

        if (options.Warmup > TimeSpan.Zero)
            await RunPhaseAsync(options, connections, payload, keySpace, options.Warmup, long.MaxValue, null, cancellationToken);
        var (elapsed, errors, latencies) = await RunPhaseAsync(options, connections, payload, keySpace, options.Duration, options.Requests, progress, cancellationToken);
        foreach (var c in connections)
            await c.DisposeAsync();

        var all = latencies.Where(l => l is not null).SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new BenchResult(options.Target == BenchTarget.Redis ? "redis" : "tolerex", options.Connections, options.PayloadBytes, all.Length, errors, elapsed,
            all.Length / elapsed, Percentile(all, 50), Percentile(all, 95), Percentile(all, 99), Percentile(all, 99.9));
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
            var command = new ArrayBufferWriter<byte>(options.PayloadBytes + 64);
            var workerRandom = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                if (duration is null && n >= requests)
                    break;
                var id = options.StartId + (n % keySpace);
                var isGet = options.GetRatio > 0 && workerRandom.NextDouble() < options.GetRatio;
                command.ResetWrittenCount();
                if (isGet)
                    HaToKuSeWriter.WriteGet(command, id);
                else
                    HaToKuSeWriter.WriteSet(command, id, payload);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await connection.SendAsync(command.WrittenMemory, cancellationToken);
                    var reply = connection.Line(await connection.ReadLineAsync(cancellationToken));
                    if (!await IsSuccessAsync(options.Target, isGet, connection, reply.ToArray(), cancellationToken))
                        Interlocked.Increment(ref errors);
                }
                catch (IOException)
                {
                    Interlocked.Increment(ref errors);
                    break;
                }

                mine.Add(Stopwatch.GetTimestamp() - started);
                progress?.Report(Interlocked.Increment(ref done));
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

    /// <summary>Nearest-rank percentile of sorted Stopwatch tick durations, in microseconds.</summary>
    internal static double Percentile(long[] sortedTicks, double percentile)
    {
        if (sortedTicks.Length == 0)
            return 0;
        // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary floating point.
        var rank = (int)Math.Ceiling(percentile * sortedTicks.Length / 100 - 1e-9);
        var ticks = sortedTicks[Math.Clamp(rank - 1, 0, sortedTicks.Length - 1)];
        return ticks * 1_000_000.0 / Stopwatch.Frequency;
    }
}
