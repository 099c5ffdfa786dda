using Microsoft.Extensions.Options;
using Tolerex.Member;
using Tolerex.Member.Configuration;
using Tolerex.Member.Store;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

if (args is ["bench-storage", ..])
    return await StoreBench.RunAsync(args);

// The content root is the program's own folder, so its appsettings.json applies wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
var app = NodeStartup.Build(builder, "tolerex-member", MemberConfiguration.Aliases,
    b =>
    {
        b.Configuration.AddMemberConfiguration(args);
        b.AddServiceDefaults().AddMember();
    },
    services => services.GetRequiredService<NodeTls>());
if (app is null)
    return 2;

app.MapMember();
var options = app.Services.GetRequiredService<IOptions<MemberOptions>>().Value;
var store = app.Services.GetRequiredService<IOptions<MessageStoreOptions>>().Value;
MemberLogMessages.Starting(app.Logger, options.Name, options.Port, options.MetricsPort, store.Io, Path.GetFullPath(store.DataDir), options.Leader, options.AdvertiseAddress);
app.Logger.LogNotes(app.Services.GetRequiredService<NodeTls>());
await app.RunAsync();
return 0;
