using DotNext.Net.Cluster.Consensus.Raft;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Replication;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// Runs once the consensus node has started (its log replayed into the state machine): starts the journal, and
/// each time this node becomes the group's leader applies every committed entry and moves the version clock past
/// every recorded version before it counts as leading (<see cref="Leading"/>). A group of one leads at once, and
/// start-up waits for that, so a leader serves nothing before its index is back.
/// </summary>
internal sealed partial class Leadership(IRaftCluster cluster, IndexStateMachine machine, IndexJournal journal, MessageIndex index,
    VersionClock clock, IOptions<LeaderOptions> options, ILogger<Leadership> logger) : IHostedService
{
    private const int ImportRecordsPerEntry = 4096;
    private readonly CancellationTokenSource _stopping = new();
    private Task _watching = Task.CompletedTask;
    private volatile bool _leading;

    private volatile string _leaderName = "";

    /// <summary>True while this node leads the group and has caught up with everything committed before.</summary>
    public bool Leading => _leading && cluster.LeadershipToken is { IsCancellationRequested: false };

    /// <summary>leader (leading and caught up), follower (a leader is known) or candidate (none is: an election is under way).</summary>
    public string Role => Leading ? "leader" : cluster.Leader is null ? "candidate" : "follower";

    /// <summary>The name of the group's current leader; empty while there is none.</summary>
    public string LeaderName => cluster.Leader is null ? "" : _leaderName;

    public long Term => cluster.AuditTrail.Term;

    public long CommitIndex => cluster.AuditTrail.LastCommittedEntryIndex;

    private async Task LearnLeaderNameAsync(DotNext.Net.Cluster.IClusterMember? leader)
    {
        try
        {
            _leaderName = leader switch
            {
                null => "",
                { IsRemote: false } => options.Value.Name,
                _ => (await leader.GetMetadataAsync()).GetValueOrDefault(NodeMetadata.Name, leader.EndPoint.ToString() ?? ""),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _leaderName = leader?.EndPoint.ToString() ?? ""; // its metadata could not be read: its address stands in
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        cluster.LeaderChanged += (source, leader) => _ = LearnLeaderNameAsync(leader);
        _ = LearnLeaderNameAsync(cluster.Leader);
        journal.Start();
        // A group of one leads at once: the listeners open only after the index is back and this node leads it.
        await LeadAsync(await cluster.WaitForLeadershipAsync(cancellationToken), cancellationToken);
        _watching = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var leadership = await cluster.WaitForLeadershipAsync(stopping);
                if (!_leading)
                    await LeadAsync(leadership, stopping);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(leadership, stopping);
                await Task.Delay(Timeout.Infinite, both.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (leadership.IsCancellationRequested)
                    LogNoLongerLeading(logger, cluster.AuditTrail.Term);
            }
            catch (Exception e) when (e is OperationCanceledException or NotLeaderException && !stopping.IsCancellationRequested)
            {
                // Lost leadership while catching up: wait for it again.
            }
            catch (OperationCanceledException)
            {
            }

            _leading = false;
        }
    }

    private async Task LeadAsync(CancellationToken leadership, CancellationToken stopping)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(leadership, stopping);
        // Everything a previous leader committed is applied before this node reads or writes the index.
        await cluster.ApplyReadBarrierAsync(ReadBarrierType.Strong, both.Token);
        // Versions stay above everything recorded, even if the wall clock went backwards meanwhile.
        clock.Observe(index.MaxVersion);
        await ImportAsync(machine, journal);
        clock.Observe(index.MaxVersion);
        _leading = true;
        LogLeading(logger, cluster.AuditTrail.Term, machine.AppliedIndex, index.Count);
    }

    /// <summary>Commits the index an earlier version left (if any), then removes its files.</summary>
    public static async Task ImportAsync(IndexStateMachine machine, IndexJournal journal)
    {
        var import = machine.PendingImport;
        if (import.Count == 0)
            return;
        for (var start = 0; start < import.Count; start += ImportRecordsPerEntry)
        {
            var appends = import.Skip(start).Take(ImportRecordsPerEntry).Select(r => journal.Append(r, apply: true)).ToList();
            await Task.WhenAll(appends.Select(a => a.Done));
        }

        machine.Imported();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Leading the index (term {Term}, applied through entry {Index}, {Ids} ids)")]
    private static partial void LogLeading(ILogger logger, long term, long index, int ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No longer leading the index (term {Term})")]
    private static partial void LogNoLongerLeading(ILogger logger, long term);
}
