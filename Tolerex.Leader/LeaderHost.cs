using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Tolerex.Leader.ClientProtocol;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Replication;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader;

/// <summary>Wires the leader: three Kestrel listeners (HaToKuSe TCP, gRPC for members, HTTP for health) and its services.</summary>
internal static class LeaderHost
{
    public static WebApplicationBuilder AddLeader(this WebApplicationBuilder builder, LeaderOptions options, NodeTls tls)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(tls);
        builder.Services.AddSingleton<MemberRegistry>();
        builder.Services.AddSingleton<MessageIndex>();
        builder.Services.AddSingleton<IndexLog>();
        builder.Services.AddSingleton<VersionClock>();
        builder.Services.AddSingleton<IBalancer>(options.Balancer == BalancerStrategy.PowerOfTwoChoices ? new PowerOfTwoChoicesBalancer() : new LeastLoadedBalancer());
        builder.Services.AddSingleton<ReplicaPlacement>();
        builder.Services.AddSingleton<ReplicationCoordinator>();
        builder.Services.AddSingleton<CommandExecutor>();
        builder.Services.AddHostedService<HeartbeatMonitor>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxGrpcMessageBytes;
            o.MaxSendMessageSize = options.MaxGrpcMessageBytes;
            o.Interceptors.Add<RequireRoleInterceptor>(NodeRole.Member);
        });

        // A partial line is held unconsumed until its end arrives, so the transport must be allowed to
        // buffer a whole maximum-length line; the parser refuses anything longer.
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = options.MaxLineBytes + 64 * 1024);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Members only: mutual TLS 1.3, a client certificate from our CA required on every connection.
            kestrel.ListenAnyIP(options.GrpcPort, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: true));
            });
            kestrel.ListenAnyIP(options.MetricsPort, o => o.Protocols = HttpProtocols.Http1);
            void HaToKuSe(ListenOptions o)
            {
                if (options.Tls)
                    o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: false));
                o.UseConnectionHandler<HaToKuSeConnectionHandler>();
            }

            if (options.TcpListenAddress is "localhost")
                kestrel.ListenLocalhost(options.TcpPort, HaToKuSe);
            else
                kestrel.Listen(IPAddress.Parse(options.TcpListenAddress), options.TcpPort, HaToKuSe);
        });
        return builder;
    }

    public static WebApplication MapLeader(this WebApplication app, LeaderOptions options)
    {
        // Recover the durable index before any listener serves traffic.
        app.Services.GetRequiredService<IndexLog>().Open();
        // Versions stay above everything recovered, even if the wall clock went backwards meanwhile.
        app.Services.GetRequiredService<VersionClock>().Observe(app.Services.GetRequiredService<MessageIndex>().MaxVersion);
        var registry = app.Services.GetRequiredService<MemberRegistry>();
        var index = app.Services.GetRequiredService<MessageIndex>();
        Telemetry.LeaderMetrics.Observe(() => registry.Alive.Length, () => registry.All.Length, () => index.Count);
        app.MapDefaultEndpoints();
        app.MapGrpcService<MembershipService>();
        return app;
    }
}
