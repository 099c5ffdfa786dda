using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Commands;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Frontends;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Repair;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader;

/// <summary>Wires the leader: three Kestrel listeners (HaToKuSe TCP, gRPC for members, HTTP for health) and its services.</summary>
internal static class LeaderHost
{
    public static WebApplicationBuilder AddLeader(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddLeaderOptions();
        // A development certificate must also be valid for this node's address in the group, which its peers dial.
        services.AddNodeTls(_ => PeerIdentity.Leader, sp => [sp.GetRequiredService<LeaderGroup>().Self.DnsSafeHost]);
        services.AddSingleton<MemberRegistry>();
        services.AddSingleton<IndexMap>();
        services.AddConsensus(builder.Configuration);
        services.AddSingleton<MessageIndex>();
        services.AddSingleton<VersionClock>();
        services.AddSingleton<IBalancer>(sp => sp.GetRequiredService<IOptions<LeaderOptions>>().Value.Balancer == BalancerStrategy.PowerOfTwoChoices
            ? new PowerOfTwoChoicesBalancer()
            : new LeastLoadedBalancer());
        services.AddSingleton<ReplicaPlacement>();
        services.AddSingleton<ReplicationCoordinator>();
        services.AddSingleton<LeaderCommands>();
        services.AddSingleton<HaToKuSeCommands>();
        services.AddSingleton<RespCommands>();
        services.AddSingleton<ClientConnections>();
        services.AddSingleton<LeaderForwarder>();
        services.AddHostedService<HeartbeatMonitor>();
        services.AddSingleton<CopyRestorer>();
        services.AddSingleton<MemberReconciler>();
        services.AddSingleton<RepairService>();
        services.AddHostedService(sp => sp.GetRequiredService<RepairService>());
        services.AddGrpc(o => o.Interceptors.Add<RequireRoleInterceptor>(NodeRole.Member)); // membership is for members only
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<LeaderOptions>>((grpc, leader) =>
        {
            grpc.MaxReceiveMessageSize = leader.Value.MaxGrpcMessageBytes;
            grpc.MaxSendMessageSize = leader.Value.MaxGrpcMessageBytes;
        });
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, LeaderListeners>();
        // A partial line is held unconsumed until its end arrives, so the transport must be allowed to buffer a
        // whole maximum-length line; the parser refuses anything longer.
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>()
            .Configure<IOptions<LeaderOptions>>((sockets, leader) => sockets.MaxReadBufferSize = leader.Value.MaxLineBytes + 64 * 1024);
        return builder;
    }

    public static WebApplication MapLeader(this WebApplication app)
    {
        // The index is recovered by the consensus node as the host starts, before the listeners serve (Leadership).
        var index = app.Services.GetRequiredService<MessageIndex>();
        var registry = app.Services.GetRequiredService<MemberRegistry>();
        app.Lifetime.ApplicationStarted.Register(registry.RestartSilenceClocks);
        var replication = app.Services.GetRequiredService<ReplicationCoordinator>();
        registry.CameUp += replication.Connect;
        registry.CameUp += app.Services.GetRequiredService<MemberReconciler>().CameUp;
        var repair = app.Services.GetRequiredService<RepairService>();
        LeaderMetrics.Observe(() => registry.Alive.Length, () => registry.All.Length, () => index.Count, () => repair.UnderReplicated, () => repair.Running,
            () => replication.Cache.Bytes);
        var leadership = app.Services.GetRequiredService<Leadership>();
        LeaderMetrics.ObserveGroup(() => leadership.Term, () => leadership.Leading, () => leadership.LeaderName.Length > 0);
        app.MapDefaultEndpoints();
        app.MapConsensus();
        app.MapGrpcService<RegistrationService>();
        return app;
    }

    /// <summary>gRPC for members (mutual TLS 1.3, a member certificate required), plain HTTP for health and metrics, HaToKuSe and RESP.</summary>
    private sealed class LeaderListeners(IOptions<LeaderOptions> leaderOptions, NodeTls tls) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            var options = leaderOptions.Value;
            kestrel.ListenAnyIP(options.GrpcPort, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: true));
            });
            kestrel.ListenAnyIP(options.MetricsPort, o => o.Protocols = HttpProtocols.Http1);
            Client<HaToKuSeConnectionHandler>(options.TcpPort);
            Client<RespConnectionHandler>(options.RespPort);

            // The client protocols share an address, TLS and limits.
            void Client<THandler>(int port) where THandler : ConnectionHandler
            {
                void Configure(ListenOptions o)
                {
                    if (options.Tls)
                        o.UseHttps(https => tls.ConfigureServer(https, requireClientCertificate: false));
                    o.UseConnectionHandler<THandler>();
                }

                // Kestrel cannot pick a free port for "localhost" (two addresses); port 0 there means IPv4 loopback.
                if (options.TcpListenAddress is "localhost" && port != 0)
                    kestrel.ListenLocalhost(port, Configure);
                else if (options.TcpListenAddress is "localhost")
                    kestrel.Listen(IPAddress.Loopback, 0, Configure);
                else
                    kestrel.Listen(IPAddress.Parse(options.TcpListenAddress), port, Configure);
            }
        }
    }
}
