using Tolerex.Member;
using Tolerex.Member.Configuration;
using Tolerex.ServiceDefaults.Configuration;

if (args is ["bench-storage", ..])
    return await Tolerex.Member.Storage.StorageBench.RunAsync(args[1..]);

// The original's single-dash flags (-port=5556) need switch mappings, so the command line is added here.
var builder = WebApplication.CreateBuilder();
MemberOptions options;
try
{
    builder.Configuration.AddCommandLine(args, MemberSettings.SwitchMappings);
    options = MemberSettings.Load(builder.Configuration);
}
catch (Exception e) when (e is ConfigurationException or FormatException)
{
    Console.Error.WriteLine($"tolerex-member: configuration error: {e.Message}");
    return 2;
}

builder.AddServiceDefaults();
builder.AddMember(options);

var app = builder.Build();
app.MapMember(options);
app.Logger.LogInformation("Member {Name} starting: grpc={Port} metrics={MetricsPort} io={Io} data={DataDir} leader={Leader} advertise={Advertise}",
    options.Name, options.Port, options.MetricsPort, options.Io, Path.GetFullPath(options.DataDir), options.LeaderAddress, options.AdvertiseAddress);
await app.RunAsync();
return 0;
