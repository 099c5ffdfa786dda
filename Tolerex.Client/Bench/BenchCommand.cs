using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tolerex.Client.Connections;
using Tolerex.Client.Terminal;

namespace Tolerex.Client.Bench;

/// <summary><c>bench</c>: the same workload against a Tolerex leader and, with <c>--redis</c>, a Redis server; a
/// side-by-side table, one JSON line per target on stdout, and optionally appended to a results file.</summary>
internal static class BenchCommand
{
    public static Command Create(ConnectionOptions connection)
    {
        var connections = new Option<int>("--connections", "-c") { Description = "Concurrent connections", DefaultValueFactory = _ => 50 };
        var pipeline = new Option<int>("--pipeline", "-P") { Description = "Commands per write on each connection (1 = one per round trip)", DefaultValueFactory = _ => 1 };
        var requests = new Option<long>("--requests", "-n") { Description = "Total requests (ignored with --duration)", DefaultValueFactory = _ => 100_000 };
        var duration = new Option<double?>("--duration", "-d") { Description = "Run for this many seconds instead of a request count" };
        var payload = new Option<int>("--payload") { Description = "Message size in bytes", DefaultValueFactory = _ => 100 };
        var getRatio = new Option<double>("--get-ratio") { Description = "Share of GETs, 0..1 (0 = all SETs)", DefaultValueFactory = _ => 0 };
        var keySpace = new Option<long>("--key-space") { Description = "Distinct ids used (default: the request count)", DefaultValueFactory = _ => 0 };
        var startId = new Option<long>("--start-id") { Description = "First id", DefaultValueFactory = _ => 1 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds of unmeasured load first, against each target", DefaultValueFactory = _ => 5 };
        var redis = new Option<string?>("--redis") { Description = "Also run the same workload against this Redis server (host:port) and print both" };
        var json = new Option<FileInfo?>("--json") { Description = "Append each target's result as one JSON line to this file (input for `report`)" };
        Positive(connections, "--connections");
        Positive(pipeline, "--pipeline");
        requests.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() < 1)
                r.AddError("--requests must be at least 1");
        });
        payload.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 64 * 1024 * 1024)
                r.AddError("--payload must be between 0 and 67108864 bytes");
        });
        getRatio.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is < 0 or > 1)
                r.AddError("--get-ratio must be between 0 and 1");
        });
        duration.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is <= 0)
                r.AddError("--duration must be a positive number of seconds");
        });

        var bench = new Command("bench", "Closed-loop SET/GET load against a leader over HaToKuSe (and Redis); prints ops/s and latency percentiles. A convenience: the reference figures come from redis-benchmark on the RESP port (scripts/bench-cluster.sh).");
        connection.AddTo(bench);
        foreach (var option in new Option[] { connections, pipeline, requests, duration, payload, getRatio, keySpace, startId, warmup, redis, json })
            bench.Options.Add(option);
        bench.SetAction(async (parse, ct) =>
        {
            var (host, port) = connection.Endpoints(parse)[0];
            var seconds = parse.GetValue(duration);
            var options = new BenchOptions(host, port, BenchTarget.Tolerex, parse.GetValue(connections), parse.GetValue(requests),
                seconds is { } s ? TimeSpan.FromSeconds(s) : null, parse.GetValue(payload), parse.GetValue(getRatio),
                parse.GetValue(keySpace), parse.GetValue(startId), parse.GetValue(connection.Password), TimeSpan.FromSeconds(parse.GetValue(warmup)),
                connection.ClientTls(parse), parse.GetValue(pipeline), ProgressDisplay.Available);
            var results = new List<BenchResult>();
            try
            {
                results.Add(await BenchRunner.RunAsync(options, null, ct));
                if (parse.GetValue(redis) is { } redisAddress)
                {
                    var (redisHost, redisPort) = Endpoints.Parse(redisAddress)[0];
                    results.Add(await BenchRunner.RunAsync(options with { Host = redisHost, Port = redisPort, Target = BenchTarget.Redis, Password = null, Tls = null }, null, ct));
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or FormatException or System.Security.Authentication.AuthenticationException)
            {
                await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                return 1;
            }

            Print(results);
            if (parse.GetValue(json) is { } file)
                await File.AppendAllLinesAsync(file.FullName, results.Select(r => JsonSerializer.Serialize(r, BenchJson.Default.BenchResult)), ct);
            return results.All(r => r.Requests > r.Errors) ? 0 : 1;
        });
        return bench;
    }

    private static void Print(IReadOnlyList<BenchResult> results)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"target",-10}{"conns",6}{"pipe",5}{"payload",8}{"requests",10}{"errors",8}{"secs",8}{"ops/s",10}{"p50us",9}{"p95us",9}{"p99us",9}{"p99.9us",9}"));
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Target,-10}{r.Connections,6}{r.Pipeline,5}{r.PayloadBytes,8}{r.Requests,10}{r.Errors,8}{r.ElapsedSeconds,8:0.0}{r.OpsPerSecond,10:0}{r.P50Us,9:0}{r.P95Us,9:0}{r.P99Us,9:0}{r.P999Us,9:0}"));
        }

        if (results.Count == 2)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tolerex/redis throughput ratio: {results[0].OpsPerSecond / results[1].OpsPerSecond:0.00}"));
        foreach (var r in results)
            Console.WriteLine(JsonSerializer.Serialize(r, BenchJson.Default.BenchResult));
    }

    private static void Positive(Option<int> option, string name) => option.Validators.Add(r =>
    {
        if (r.GetValueOrDefault<int>() < 1)
            r.AddError($"{name} must be at least 1");
    });
}
