using Microsoft.AspNetCore.Server.Kestrel.Core;
using Tolerex.Member.Configuration;
using Tolerex.Member.Storage;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member;

/// <summary>Wires a member: the gRPC listener for the leader, an HTTP listener for health, the store and the leader link.</summary>
internal static class MemberHost
{
    public static WebApplicationBuilder AddMember(this WebApplicationBuilder builder, MemberOptions options, NodeTls tls)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(tls);
        builder.Services.AddSingleton<IMessageStore>(sp =>
            LogStore.Open(options.DataDir, new LogStoreOptions
            {
                Io = options.Io,
                Durability = options.Durability,
                SegmentBytes = options.SegmentBytes,
                PreallocateBytes = options.PreallocateBytes,
                CompactionThreshold = options.CompactionThreshold,
                CompactionMinBytes = options.CompactionMinBytes,
            }, sp.GetRequiredService<ILogger<LogStore>>()));
        builder.Services.AddHostedService<LeaderLink>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = options.MaxMessageBytes;
            // Copies are stored and served to the leader only, never to another member or a client.
            o.Interceptors.Add<RequireRoleInterceptor>(NodeRole.Leader);
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenAnyIP(options.Port, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: true));
            });
            kestrel.ListenAnyIP(options.MetricsPort, o => o.Protocols = HttpProtocols.Http1);
        });
        return builder;
    }

    public static WebApplication MapMember(this WebApplication app, MemberOptions options)
    {
        app.MapDefaultEndpoints();
        app.MapGrpcService<StorageService>();
        // Open (and recover) the store before the leader can send traffic.
        MemberMetrics.Observe(app.Services.GetRequiredService<IMessageStore>());
        return app;
    }
}
