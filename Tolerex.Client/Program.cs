using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tolerex.Client;
using Tolerex.Client.Bench;

var addr = new Option<string>("--addr") { Description = "Leader HaToKuSe address(es): host:port[,host:port…]", DefaultValueFactory = _ => "localhost:6666" };

var password = new Option<string?>("--password") { Description = "Send AUTH <password> after connecting (default: $TOLEREX_PASSWORD)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TOLEREX_PASSWORD") };

var tls = new Option<bool>("--tls") { Description = "Connect with TLS (a leader started with Tolerex:Leader:Tls=true)" };
var ca = new Option<string?>("--ca") { Description = "CA certificate (PEM) the leader's certificate must chain to (default: $TOLEREX_CA, else the development CA if present, else the system roots)" };

var root = new RootCommand("Tolerex client: an interactive HaToKuSe session, or a verb (bench).");
root.Options.Add(addr);
root.Options.Add(password);
root.Options.Add(tls);
root.Options.Add(ca);
root.SetAction(async (parse, ct) =>
    await new InteractiveSession(Console.In, Console.OpenStandardOutput(), Console.Error, parse.GetValue(password),
            parse.GetValue(tls) ? ClientTls.Resolve(parse.GetValue(ca)) : null)
        .RunAsync(Endpoints.Parse(parse.GetValue(addr)!), ct));

var connections = new Option<int>("--connections", "-c") { Description = "Concurrent connections", DefaultValueFactory = _ => 50 };
var requests = new Option<long>("--requests", "-n") { Description = "Total requests (ignored with --duration)", DefaultValueFactory = _ => 100_000 };
var duration = new Option<double?>("--duration", "-d") { Description = "Run for this many seconds instead of a request count" };
var payload = new Option<int>("--payload") { Description = "Message size in bytes", DefaultValueFactory = _ => 100 };
var getRatio = new Option<double>("--get-ratio") { Description = "Share of GETs, 0..1 (0 = all SETs)", DefaultValueFactory = _ => 0 };
var keySpace = new Option<long>("--key-space") { Description = "Distinct ids used (default: the request count)", DefaultValueFactory = _ => 0 };
var startId = new Option<long>("--start-id") { Description = "First id", DefaultValueFactory = _ => 1 };
var warmup = new Option<double>("--warmup") { Description = "Seconds of unmeasured load first, against each target", DefaultValueFactory = _ => 5 };
var redis = new Option<string?>("--redis") { Description = "Also run the same workload against this Redis server (host:port) and print both" };
var bench = new Command("bench", "Closed-loop SET/GET load against a leader; prints ops/s and latency percentiles.")
{
    addr, password, connections, requests, duration, payload, getRatio, keySpace, startId, warmup, redis, tls, ca,
};
bench.SetAction(async (parse, ct) =>
{
    var (host, port) = Endpoints.Parse(parse.GetValue(addr)!)[0];
    var seconds = parse.GetValue(duration);
    var options = new BenchOptions(host, port, BenchTarget.Tolerex, parse.GetValue(connections), parse.GetValue(requests),
        seconds is { } s ? TimeSpan.FromSeconds(s) : null, parse.GetValue(payload), parse.GetValue(getRatio),
        parse.GetValue(keySpace), parse.GetValue(startId), parse.GetValue(password), TimeSpan.FromSeconds(parse.GetValue(warmup)),
        parse.GetValue(tls) ? ClientTls.Resolve(parse.GetValue(ca)) : null);
    var results = new List<BenchResult> { await BenchRunner.RunAsync(options, null, ct) };
    if (parse.GetValue(redis) is { } redisAddress)
    {
        var (redisHost, redisPort) = Endpoints.Parse(redisAddress)[0];
        results.Add(await BenchRunner.RunAsync(options with { Host = redisHost, Port = redisPort, Target = BenchTarget.Redis, Password = null, Tls = null }, null, ct));
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{"target",-10}{"conns",6}{"payload",8}{"requests",10}{"errors",8}{"secs",8}{"ops/s",10}{"p50us",9}{"p95us",9}{"p99us",9}{"p99.9us",9}"));
    foreach (var r in results)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Target,-10}{r.Connections,6}{r.PayloadBytes,8}{r.Requests,10}{r.Errors,8}{r.ElapsedSeconds,8:0.0}{r.OpsPerSecond,10:0}{r.P50Us,9:0}{r.P95Us,9:0}{r.P99Us,9:0}{r.P999Us,9:0}"));
    }

    if (results.Count == 2)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tolerex/redis throughput ratio: {results[0].OpsPerSecond / results[1].OpsPerSecond:0.00}"));
    foreach (var r in results)
        Console.WriteLine(JsonSerializer.Serialize(r, BenchJson.Default.BenchResult));
    return results.All(r => r.Requests > r.Errors) ? 0 : 1;
});
root.Subcommands.Add(bench);
root.Subcommands.Add(ReportCommand.Create());

return await root.Parse(args).InvokeAsync();
