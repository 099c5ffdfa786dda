using System.Net;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Leader.Configuration;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// A leader group of one without a web host, for <c>bench-index</c> and tests: the same consensus log, state
/// machine and journal the leader runs, on the built-in TCP transport (bound to a loopback port the OS picks; a
/// group of one never sends anything on it).
/// </summary>
internal sealed class SoloGroup : IAsyncDisposable
{
    private readonly RaftCluster _cluster;
    private readonly WriteAheadLog _log;
    private readonly IndexStateMachine _machine;

    private SoloGroup(RaftCluster cluster, WriteAheadLog log, IndexStateMachine machine, IndexJournal journal)
    {
        (_cluster, _log, _machine, Journal) = (cluster, log, machine, journal);
    }

    public IndexJournal Journal { get; }

    /// <summary>Opens <paramref name="machine"/>'s data directory, replays the log, leads, and commits any earlier-format index.</summary>
    public static async Task<SoloGroup> StartAsync(IndexStateMachine machine, LeaderOptions options)
    {
        machine.Open();
        var log = new WriteAheadLog(ConsensusHost.LogOptions(options), machine);
        var self = new IPEndPoint(IPAddress.Loopback, 0);
        var configuration = new RaftCluster.TcpConfiguration(self) { ColdStart = false, ConfigurationStorage = null };
        var peers = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage!).CreateInitialConfigurationBuilder();
        peers.Add(self);
        peers.Build();
        var cluster = new RaftCluster(configuration) { AuditTrail = log };
        await cluster.StartAsync(CancellationToken.None);
        await cluster.WaitForLeadershipAsync(CancellationToken.None);
        await cluster.ApplyReadBarrierAsync(ReadBarrierType.Strong);
        var journal = new IndexJournal(cluster, options.IndexEntriesInFlight, NullLogger<IndexJournal>.Instance);
        journal.Start();
        await Leadership.ImportAsync(machine, journal);
        return new SoloGroup(cluster, log, machine, journal);
    }

    public async ValueTask DisposeAsync()
    {
        await Journal.DisposeAsync();
        await _cluster.StopAsync(CancellationToken.None);
        _cluster.Dispose();
        await _log.DisposeAsync();
        _machine.Dispose();
    }
}
