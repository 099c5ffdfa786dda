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
LeaderLog.Starting(app.Logger, options.Tolerance, options.Balancer, options.TcpListenAddress, options.TcpPort, options.Tls, options.GrpcPort, options.MetricsPort);
app.Logger.LogNotes(tls);
if (options.Password is null && options.TcpListenAddress is not ("localhost" or "127.0.0.1" or "::1"))
    LeaderLog.OpenWithoutPassword(app.Logger, options.TcpListenAddress);

await app.RunAsync();
return 0;
