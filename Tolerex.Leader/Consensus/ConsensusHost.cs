using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Http;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using DotNext.Net.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// The leader's index as a Raft group (DotNext): the consensus log (a write-ahead log under the data directory's
/// <c>wal</c>) with <see cref="IndexStateMachine"/> on top, committed through <see cref="IndexJournal"/>. The
/// group's nodes (<see cref="LeaderGroup"/>) talk over HTTP/2 on their gRPC port, with the same mutual TLS as
/// members, and only leader identities may. A leader on its own is a group of one: it leads at once, and a
/// commit is its own flush.
/// </summary>
internal static class ConsensusHost
{
    private const string ClientName = "tolerex-consensus";

    public static IServiceCollection AddConsensus(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IndexStateMachine>();
        services.AddSingleton<IStateMachine>(sp => sp.GetRequiredService<IndexStateMachine>());
        services.AddSingleton<IPersistentState>(OpenLog);
        services.AddSingleton<DotNext.IO.Log.IAuditTrail<IRaftLogEntry>>(sp => sp.GetRequiredService<IPersistentState>());
        // Read from configuration rather than IOptions: DotNext's registrations below take plain callbacks. They,
        // and the singleton, run once the host is built and the options have been checked.
        var options = new Lazy<LeaderOptions>(() => configuration.GetSection(LeaderOptions.Section).Get<LeaderOptions>() ?? new LeaderOptions());
        var group = new Lazy<LeaderGroup>(() => LeaderGroup.From(options.Value));
        services.AddSingleton(_ => group.Value);
        services.UseInMemoryConfigurationStorage(peers =>
        {
            foreach (var peer in group.Value.Peers)
                peers.Add(new UriEndPoint(peer));
        });
        services.ConfigureLocalNode(node =>
        {
            var self = group.Value.Self;
            node.PublicEndPoint = self;
            node.ColdStart = false; // the group is the configured peers, not grown at run time
            node.LowerElectionTimeout = (int)options.Value.ElectionTimeout.TotalMilliseconds;
            node.UpperElectionTimeout = 2 * node.LowerElectionTimeout;
            // A follower that misses heartbeats first checks whether the leader still answers: a leader slowed down
            // (a starved machine, a long pause) keeps leading instead of losing in-flight writes to an election.
            node.AggressiveLeaderStickiness = true;
            // Reads are served under the leader's lease (see Leadership.CanReadAsync).
            node.IsLeaderLeaseEnabled = true;
            node.ClientHandlerName = ClientName;
            node.ProtocolVersion = HttpProtocolVersion.Http2; // the gRPC port speaks HTTP/2 only
            node.ProtocolVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            node.Metadata[NodeMetadata.Name] = options.Value.Name;
            node.Metadata[NodeMetadata.HaToKuSe] = $"{self.Host}:{options.Value.TcpPort}";
            node.Metadata[NodeMetadata.Resp] = $"{self.Host}:{options.Value.RespPort}";
        });
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is experimental in Microsoft.Extensions.Http.Resilience
        services.AddHttpClient(ClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // The same mutual TLS as every node link; only a leader identity is accepted as a peer of the group.
                SslOptions = NodeChannels.ClientOptions(sp.GetRequiredService<NodeTls>(), peer => peer.Role == NodeRole.Leader),
                ConnectTimeout = sp.GetRequiredService<IOptions<LeaderOptions>>().Value.ConnectTimeout,
                EnableMultipleHttp2Connections = true,
            })
            // Raft has its own timeouts and retries: the defaults' retries would resend votes and entries late, and
            // their circuit breaker (one per client, not per peer) would cut the live peers off with a dead one.
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        services.AddSingleton<IndexJournal>();
        services.AddSingleton<Leadership>();
        services.AddHostedService(sp => sp.GetRequiredService<Leadership>());
        return services;
    }

    /// <summary>The group's endpoint on the gRPC port, for leader identities only (members and clients get 403).</summary>
    public static WebApplication MapConsensus(this WebApplication app)
    {
        var path = new PathString(LeaderGroup.Path);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(path) && PeerIdentity.From(context.Connection.ClientCertificate)?.Role != NodeRole.Leader)
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await next(context);
        });
        app.UseConsensusProtocolHandler();
        return app;
    }

    /// <summary>The state machine loads its snapshot first: the log starts after it.</summary>
    private static WriteAheadLog OpenLog(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LeaderOptions>>().Value;
        var machine = services.GetRequiredService<IndexStateMachine>();
        machine.Open();
        return new WriteAheadLog(LogOptions(options), machine);
    }

    public static WriteAheadLog.Options LogOptions(LeaderOptions options)
    {
        var location = Path.Combine(options.DataDir, "wal");
        return new()
        {
            // Every entry is flushed before it counts as committed (DotNext 6.12 always does), whatever Durability says.
            Location = location,
            HashAlgorithm = WriteAheadLog.IntegrityHashAlgorithm.Crc32,
            ChunkSize = ExistingChunkSize(location) ?? options.LogChunkBytes,
        };
    }

    /// <summary>
    /// The chunk size an existing log was made with: the log finds an entry's file from its address and the chunk
    /// size, so a log read with another size would be read wrongly. Every chunk file is created at full size.
    /// </summary>
    internal static int? ExistingChunkSize(string location)
    {
        var data = new DirectoryInfo(Path.Combine(location, "data"));
        if (!data.Exists)
            return null;
        foreach (var chunk in data.EnumerateFiles())
        {
            if (chunk.Length is > 0 and <= int.MaxValue && chunk.Length % 4096 == 0)
                return (int)chunk.Length;
        }

        return null;
    }
}

/// <summary>What each node of the group tells the others about itself (Raft member metadata).</summary>
internal static class NodeMetadata
{
    public const string Name = "tolerex-name";
    /// <summary>host:port of the node's HaToKuSe listener, where the other nodes forward their clients while it leads.</summary>
    public const string HaToKuSe = "tolerex-hatokuse";
    /// <summary>host:port of the node's RESP listener, where the other nodes forward their RESP clients while it leads.</summary>
    public const string Resp = "tolerex-resp";
}
