using Tolerex.Leader;
using Tolerex.Leader.Configuration;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

if (args is ["bench-index", ..])
    return await Tolerex.Leader.Index.IndexBench.RunAsync(args[1..]);

var builder = WebApplication.CreateBuilder(args);
LeaderOptions options;
NodeTls tls;
try
{
    options = LeaderSettings.Load(builder.Configuration);
    tls = NodeTls.Load(builder.Configuration, PeerIdentity.Leader);
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"tolerex-leader: configuration error: {e.Message}");
    return 2;
}

builder.AddServiceDefaults();
builder.AddLeader(options, tls);

var app = builder.Build();
app.MapLeader(options);
app.Logger.LogInformation("Leader starting: tolerance={Tolerance} balancer={Balancer} hatokuse={TcpAddress}:{TcpPort} grpc={GrpcPort} metrics={MetricsPort}",
    options.Tolerance, options.Balancer, options.TcpListenAddress, options.TcpPort, options.GrpcPort, options.MetricsPort);
foreach (var note in tls.Notes)
    app.Logger.Log(note.StartsWith("WARNING", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information, "{Note}", note);
if (options.Password is null && options.TcpListenAddress is not ("localhost" or "127.0.0.1" or "::1"))
{
    app.Logger.LogWarning("The HaToKuSe port listens on {Address}, beyond this machine, without a password: set Tolerex:Leader:Password (or TOLEREX_PASSWORD)",
        options.TcpListenAddress);
}

await app.RunAsync();
return 0;
