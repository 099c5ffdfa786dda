using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tolerex.Client;
using Tolerex.Client.Bench;

var addr = new Option<string>("--addr") { Description = "Leader HaToKuSe address(es): host:port[,host:port…]", DefaultValueFactory = _ => "localhost:6666" };

var root = new RootCommand("Tolerex client: an interactive HaToKuSe session, or a verb (bench).");
root.Options.Add(addr);
root.SetAction(async (parse, ct) =>
    await new InteractiveSession(Console.In, Console.OpenStandardOutput(), Console.Error)
        .RunAsync(Endpoints.Parse(parse.GetValue(addr)!), ct));

var connections = new Option<int>("--connections", "-c") { Description = "Concurrent connections", DefaultValueFactory = _ => 50 };
var requests = new Option<long>("--requests", "-n") { Description = "Total requests (ignored with --duration)", DefaultValueFactory = _ => 100_000 };
var duration = new Option<double?>("--duration", "-d") { Description = "Run for this many seconds instead of a request count" };
var payload = new Option<int>("--payload") { Description = "Message size in bytes", DefaultValueFactory = _ => 100 };
var getRatio = new Option<double>("--get-ratio") { Description = "Share of GETs, 0..1 (0 = all SETs)", DefaultValueFactory = _ => 0 };
var keySpace = new Option<long>("--key-space") { Description = "Distinct ids used (default: the request count)", DefaultValueFactory = _ => 0 };
var startId = new Option<long>("--start-id") { Description = "First id", DefaultValueFactory = _ => 1 };
var bench = new Command("bench", "Closed-loop SET/GET load against a leader; prints ops/s and latency percentiles.")
{
    addr, connections, requests, duration, payload, getRatio, keySpace, startId,
};
bench.SetAction(async (parse, ct) =>
{
    var (host, port) = Endpoints.Parse(parse.GetValue(addr)!)[0];
    var seconds = parse.GetValue(duration);
    var options = new BenchOptions(host, port, parse.GetValue(connections), parse.GetValue(requests),
        seconds is { } s ? TimeSpan.FromSeconds(s) : null, parse.GetValue(payload), parse.GetValue(getRatio),
        parse.GetValue(keySpace), parse.GetValue(startId));
    var result = await BenchRunner.RunAsync(options, null, ct);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{"target",-10}{"conns",6}{"payload",8}{"requests",10}{"errors",8}{"secs",8}{"ops/s",10}{"p50us",9}{"p95us",9}{"p99us",9}{"p99.9us",9}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{result.Target,-10}{result.Connections,6}{result.PayloadBytes,8}{result.Requests,10}{result.Errors,8}{result.ElapsedSeconds,8:0.0}{result.OpsPerSecond,10:0}{result.P50Us,9:0}{result.P95Us,9:0}{result.P99Us,9:0}{result.P999Us,9:0}"));
    Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Default.BenchResult));
    return result.Requests > result.Errors ? 0 : 1;
});
root.Subcommands.Add(bench);

return await root.Parse(args).InvokeAsync();
