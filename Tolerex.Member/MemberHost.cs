using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Tolerex.Member.Configuration;
using Tolerex.Member.Store;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member;

/// <summary>Wires a member: the gRPC listener for the leader, an HTTP listener for health, the store and the leader link.</summary>
internal static class MemberHost
{
    public static WebApplicationBuilder AddMember(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddMemberOptions();
        // The certificate must be valid for the host the leader dials (the advertised address).
        services.AddNodeTls(sp => sp.GetRequiredService<IOptions<MemberOptions>>().Value.Identity, sp => [AdvertisedHost(sp)]);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<MessageStoreOptions>>().Value;
            return MessageStore.Open(options.DataDir, options, sp.GetRequiredService<ILogger<MessageStore>>());
        });
        services.AddHostedService<LeaderLink>();
        services.AddGrpc(o => o.Interceptors.Add<RequireRoleInterceptor>(NodeRole.Leader)); // copies go to the leader only
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<MemberOptions>>((grpc, member) =>
        {
            grpc.MaxReceiveMessageSize = member.Value.MaxMessageBytes;
            grpc.MaxSendMessageSize = member.Value.MaxMessageBytes;
        });
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, MemberListeners>();
        return builder;
    }

    public static WebApplication MapMember(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapGrpcService<CopyService>();
        // Open (and recover) the store before the leader can send traffic.
        MemberMetrics.Observe(app.Services.GetRequiredService<MessageStore>());
        return app;
    }

    private static string AdvertisedHost(IServiceProvider services) =>
        NodeChannels.ToUri(services.GetRequiredService<IOptions<MemberOptions>>().Value.AdvertiseAddress).Host;

    /// <summary>gRPC for the leader (mutual TLS 1.3, a leader certificate required) and plain HTTP for health and metrics.</summary>
    private sealed class MemberListeners(IOptions<MemberOptions> options, NodeTls tls) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            kestrel.ListenAnyIP(options.Value.Port, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: true));
            });
            kestrel.ListenAnyIP(options.Value.MetricsPort, o => o.Protocols = HttpProtocols.Http1);
        }
    }
}
