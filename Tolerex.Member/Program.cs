using Tolerex.Member;
using Tolerex.Member.Configuration;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

if (args is ["bench-storage", ..])
    return await Tolerex.Member.Storage.StorageBench.RunAsync(args[1..]);

// The original's single-dash flags (-port=5556) need switch mappings, so the command line is added here.
var builder = WebApplication.CreateBuilder();
MemberOptions options;
NodeTls tls;
try
{
    builder.Configuration.AddCommandLine(args, MemberSettings.SwitchMappings);
    options = MemberSettings.Load(builder.Configuration);
    // The certificate must be valid for the host the leader dials (the advertised address).
    tls = NodeTls.Load(builder.Configuration, new PeerIdentity(NodeRole.Member, options.Name), [NodeChannels.ToUri(options.AdvertiseAddress).Host]);
}
catch (Exception e) when (e is ConfigurationException or FormatException)
{
    Console.Error.WriteLine($"tolerex-member: configuration error: {e.Message}");
    return 2;
}

builder.AddServiceDefaults();
builder.AddMember(options, tls);

var app = builder.Build();
app.MapMember(options);
MemberLog.Starting(app.Logger, options.Name, options.Port, options.MetricsPort, options.Io, Path.GetFullPath(options.DataDir), options.LeaderAddress, options.AdvertiseAddress);
app.Logger.LogNotes(tls);
await app.RunAsync();
return 0;
