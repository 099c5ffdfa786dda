using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Http;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// The leader's index as a Raft group (DotNext): the consensus log (a write-ahead log under the data directory's
/// <c>wal</c>) with <see cref="IndexStateMachine"/> on top, committed through <see cref="IndexJournal"/>. A leader
/// is a group of one: it leads at once, and a commit is its own flush.
/// </summary>
internal static class ConsensusHost
{
    public static IServiceCollection AddConsensus(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IndexStateMachine>();
        services.AddSingleton<IStateMachine>(sp => sp.GetRequiredService<IndexStateMachine>());
        services.AddSingleton<IPersistentState>(OpenLog);
        services.AddSingleton<DotNext.IO.Log.IAuditTrail<IRaftLogEntry>>(sp => sp.GetRequiredService<IPersistentState>());
        // Both run when the node is created, once configuration is complete and checked. The group's only node is
        // named by its gRPC address; a group of one never sends anything to it.
        services.UseInMemoryConfigurationStorage(peers => peers.Add(new UriEndPoint(SelfOf(configuration))));
        services.ConfigureLocalNode(node =>
        {
            node.PublicEndPoint = SelfOf(configuration);
            node.ColdStart = false; // the group is the configured node, not grown at run time
            node.Metadata[NodeMetadata.Name] = OptionsOf(configuration).Name;
        });
        services.AddSingleton<IndexJournal>();
        services.AddSingleton<Leadership>();
        services.AddHostedService(sp => sp.GetRequiredService<Leadership>());
        return services;
    }

    private static LeaderOptions OptionsOf(IConfiguration configuration) =>
        configuration.GetSection(LeaderOptions.Section).Get<LeaderOptions>() ?? new LeaderOptions();

    private static Uri SelfOf(IConfiguration configuration) => new($"https://localhost:{OptionsOf(configuration).GrpcPort}/");

    /// <summary>The state machine loads its snapshot first: the log starts after it.</summary>
    private static WriteAheadLog OpenLog(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LeaderOptions>>().Value;
        var machine = services.GetRequiredService<IndexStateMachine>();
        machine.Open();
        return new WriteAheadLog(LogOptions(options), machine);
    }

    public static WriteAheadLog.Options LogOptions(LeaderOptions options) => new()
    {
        // Every entry is flushed before it counts as committed (DotNext 6.12 always does), whatever Durability says.
        Location = Path.Combine(options.DataDir, "wal"),
        HashAlgorithm = WriteAheadLog.IntegrityHashAlgorithm.Crc32,
    };
}

/// <summary>What each node of the group tells the others about itself (Raft member metadata).</summary>
internal static class NodeMetadata
{
    public const string Name = "tolerex-name";
}
