using Microsoft.Extensions.Options;
using Tolerex.Leader;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Deployment;
using Tolerex.Leader.Index;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

if (args is ["bench-index", ..])
    return await IndexBench.RunAsync(args);
if (args is [IssueCertificatesVerb.Name, ..])
    return await IssueCertificatesVerb.RunAsync(args);

// The content root is the program's own folder, so its appsettings.json applies wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
var app = NodeStartup.Build(builder, "tolerex-leader", LeaderConfiguration.Aliases,
    b =>
    {
        b.Configuration.AddLeaderConfiguration(args);
        b.AddServiceDefaults().AddLeader();
    },
    services => services.GetRequiredService<NodeTls>());
if (app is null)
    return 2;

app.MapLeader();
var options = app.Services.GetRequiredService<IOptions<LeaderOptions>>().Value;
LeaderLogMessages.Starting(app.Logger, options.Tolerance, options.Balancer, options.TcpListenAddress, options.TcpPort, options.RespPort, options.Tls, options.GrpcPort, options.MetricsPort);
app.Logger.LogNotes(app.Services.GetRequiredService<NodeTls>());
if (options.Durability == Tolerex.Storage.Durability.Os)
    LeaderLogMessages.DurabilityIgnored(app.Logger);
if (options.Password is null && options.TcpListenAddress is not ("localhost" or "127.0.0.1" or "::1"))
    LeaderLogMessages.OpenWithoutPassword(app.Logger, options.TcpListenAddress);

await app.RunAsync();
return 0;
