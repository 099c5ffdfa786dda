using System.Diagnostics;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// Runs once the consensus node has started (its log replayed into the state machine): starts the journal, and
/// each time this node becomes the group's leader applies every committed entry, moves the version clock past
/// every recorded version and commits its version floor, restarts the members' silence clocks (they heartbeat
/// to the leader only) and asks the members whether they are up, before it counts as leading
/// (<see cref="Leading"/>). A group of one leads at once, and start-up waits for that, so a leader on its own
/// serves nothing before its index is back; a node of a larger group starts as a follower.
/// </summary>
internal sealed partial class Leadership(IRaftCluster cluster, IndexStateMachine machine, IndexJournal journal, MessageIndex index,
    MemberRegistry registry, VersionClock clock, LeaderGroup group, IOptions<LeaderOptions> options, ILogger<Leadership> logger) : IHostedService
{
    private const int ImportRecordsPerEntry = 4096;
    /// <summary>Soon after a member first registers, and well within Kestrel's idle-connection timeout (130 s).</summary>
    private static readonly TimeSpan MemberLinkWarmInterval = TimeSpan.FromSeconds(2);
    private readonly bool _alone = group.Alone;
    private readonly CancellationTokenSource _stopping = new();
    private Task _watching = Task.CompletedTask;
    private Task _warming = Task.CompletedTask;
    private volatile bool _leading;
    private volatile LeaderInfo _leader = LeaderInfo.None;
    private volatile CancellationTokenSource _leaderEra = new();
    private IClusterMember? _eraLeader; // the leader _leaderEra belongs to; written by LeaderChanged handlers only

    /// <summary>What this node learnt about <see cref="Member"/>; it counts only while that member still leads.</summary>
    private sealed record LeaderInfo(IClusterMember? Member, string Name, string? HaToKuSe, string? Resp, string? Grpc)
    {
        public static readonly LeaderInfo None = new(null, "", null, null, null);
    }

    private LeaderInfo Current => cluster.Leader is { } leader && ReferenceEquals(_leader.Member, leader) ? _leader : LeaderInfo.None;

    /// <summary>True while this node leads the group and has caught up with everything committed before.</summary>
    public bool Leading => _leading && cluster.LeadershipToken is { IsCancellationRequested: false };

    /// <summary>True while this node holds the group's leadership, caught up or not yet.</summary>
    public bool Elected => cluster.LeadershipToken is { IsCancellationRequested: false };

    /// <summary>leader (leading and caught up), follower (another node leads) or candidate (no leader is known: an election is under way).</summary>
    public string Role => Leading ? "leader" : cluster.Leader is null || Elected ? "candidate" : "follower";

    /// <summary>The name of the group's current leader; empty while there is none.</summary>
    public string LeaderName => Current.Name;

    /// <summary>host:port of the current leader's HaToKuSe listener when another node leads; null otherwise.</summary>
    public string? LeaderHaToKuSe => Current.HaToKuSe;

    /// <summary>host:port of the current leader's RESP listener when another node leads; null otherwise.</summary>
    public string? LeaderResp => Current.Resp;

    /// <summary>host:port of the current leader's gRPC listener (its address in <c>Peers</c>) when another node leads; null otherwise.</summary>
    public string? LeaderGrpc => Current.Grpc;

    /// <summary>
    /// Cancelled when this node learns that another node leads: a connection passed to the former leader must
    /// not wait on it (cut off by a partition, it would hold the client until TCP gave up).
    /// </summary>
    public CancellationToken LeaderEra => _leaderEra.Token;

    public long Term => cluster.AuditTrail.Term;

    /// <summary>
    /// Whether this node may serve a read from its index now: it leads and its leader lease holds (a majority
    /// heard from it within the lease, so no other node can have been elected), or, without a lease, a read
    /// barrier (a round with a majority) confirms it still leads within <c>NoLeaderTimeout</c>.
    /// </summary>
    public ValueTask<bool> CanReadAsync()
    {
        if (!Leading)
            return new(false);
        return cluster.TryGetLeaseToken(out var lease) && !lease.IsCancellationRequested ? new(true) : ConfirmAsync();

        async ValueTask<bool> ConfirmAsync()
        {
            using var timeout = new CancellationTokenSource(options.Value.NoLeaderTimeout);
            try
            {
                await cluster.ApplyReadBarrierAsync(ReadBarrierType.Strong, timeout.Token);
                return Leading;
            }
            catch (Exception e) when (e is OperationCanceledException or NotLeaderException or QuorumUnreachableException)
            {
                return false;
            }
        }
    }

    public long CommitIndex => cluster.AuditTrail.LastCommittedEntryIndex;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        cluster.LeaderChanged += (source, leader) =>
        {
            LeaderMetrics.LeaderChanged();
            // A new leader ends the former one's era. No leader for a moment does not: a follower whose heartbeat
            // came late forgets the leader until the next one, and passed connections must survive that.
            // (The replaced source is not disposed: a reader may still be taking its token.)
            if (leader is not null && !ReferenceEquals(Interlocked.Exchange(ref _eraLeader, leader), leader))
                _ = Interlocked.Exchange(ref _leaderEra, new CancellationTokenSource()).CancelAsync();
            _ = LearnLeaderAsync(leader);
        };
        _ = LearnLeaderAsync(cluster.Leader);
        journal.Start();
        // A group of one leads at once: its listeners open only after the index is back and it leads.
        if (_alone)
            await LeadAsync(await cluster.WaitForLeadershipAsync(cancellationToken), cancellationToken);
        _watching = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
        if (!_alone)
            _warming = Task.Run(() => KeepMemberLinksWarmAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>While this node follows, its connections to members stay open (see <see cref="MemberRegistry.WarmAsync"/>).</summary>
    private async Task KeepMemberLinksWarmAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(MemberLinkWarmInterval);
        try
        {
            do
            {
                if (!Elected)
                    await registry.WarmAsync(options.Value.ConnectTimeout);
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task LearnLeaderAsync(IClusterMember? leader)
    {
        // A slower lookup for an earlier leader never replaces a later one: Current checks the member.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                _leader = leader switch
                {
                    null => LeaderInfo.None,
                    { IsRemote: false } => new LeaderInfo(leader, options.Value.Name, null, null, null),
                    _ => await InfoOfAsync(leader),
                };
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Its metadata could not be read (it is starting, or this node is): without its client addresses
                // no client could be passed to it, so ask again while it leads.
                _leader = new LeaderInfo(leader, leader?.EndPoint.ToString() ?? "", null, null, GrpcOf(leader));
                if (_stopping.IsCancellationRequested || !ReferenceEquals(cluster.Leader, leader))
                    return;
                await Task.Delay(RetryPause.After(attempt));
            }
        }

        // One line per change (DotNext's own warnings about unreachable peers are off: one per retry, with a stack).
        if (leader is null)
            LogNoLeader(logger, Term);
        else if (ReferenceEquals(cluster.Leader, leader))
            LogLeaderIs(logger, _leader.Name, Term);

        static async Task<LeaderInfo> InfoOfAsync(IClusterMember leader)
        {
            var metadata = await leader.GetMetadataAsync();
            return new LeaderInfo(leader, metadata.GetValueOrDefault(NodeMetadata.Name, leader.EndPoint.ToString() ?? ""), metadata.GetValueOrDefault(NodeMetadata.HaToKuSe),
                metadata.GetValueOrDefault(NodeMetadata.Resp), GrpcOf(leader));
        }

        static string? GrpcOf(IClusterMember? member) => member?.EndPoint is Microsoft.AspNetCore.Connections.UriEndPoint { Uri: var uri } ? $"{uri.Host}:{uri.Port}" : null;
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
                while (!both.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMinutes(1), both.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (clock.RunningLow && !both.IsCancellationRequested)
                        await ReserveVersionsAsync();
                }

                if (leadership.IsCancellationRequested)
                    LogNoLongerLeading(logger, Term);
            }
            catch (Exception e) when (e is OperationCanceledException or NotLeaderException && !stopping.IsCancellationRequested)
            {
                // Lost leadership while catching up: wait for it again.
            }
            catch (IOException e) when (!stopping.IsCancellationRequested)
            {
                // An entry of the catch-up (import, version reservation) was not committed: try again shortly.
                LogCatchUpFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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
        var started = Stopwatch.GetTimestamp();
        // Everything a previous leader committed is applied before this node reads or writes the index.
        await cluster.ApplyReadBarrierAsync(ReadBarrierType.Strong, both.Token);
        var caughtUp = Stopwatch.GetElapsedTime(started);
        // Versions stay above everything recorded, even if the wall clock went backwards meanwhile.
        clock.Observe(index.MaxVersion);
        await ImportAsync(machine, journal);
        clock.Observe(index.MaxVersion);
        await ReserveVersionsAsync();
        var reserved = Stopwatch.GetElapsedTime(started);
        // Members heartbeat to the leader only: their silence counts from now, not from when this node last led,
        // and those that answer now are up before they notice the new leader.
        registry.RestartSilenceClocks();
        if (!_alone)
            await registry.ProbeAsync(options.Value.ConnectTimeout);
        _leading = true;
        LeaderMetrics.BecameLeader();
        LogLeading(logger, Term, machine.AppliedIndex, index.Count, caughtUp.TotalMilliseconds, reserved.TotalMilliseconds, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Reserves versions through the group before numbering writes with them (see <see cref="VersionClock"/>).</summary>
    private async Task ReserveVersionsAsync()
    {
        var floor = clock.NextFloor;
        await index.ReserveVersionsAsync(floor);
        clock.Reserve(floor);
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
        await _warming.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Leading the index (term {Term}, applied through entry {Index}, {Ids} ids); caught up in {CaughtUpMs:0} ms, versions reserved at {ReservedMs:0} ms, members asked at {ReadyMs:0} ms")]
    private static partial void LogLeading(ILogger logger, long term, long index, int ids, double caughtUpMs, double reservedMs, double readyMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "The leader group's leader is {Leader} (term {Term})")]
    private static partial void LogLeaderIs(ILogger logger, string leader, long term);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The leader group has no leader (term {Term}): an election is under way, or too few nodes answer")]
    private static partial void LogNoLeader(ILogger logger, long term);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking over as leader failed; trying again")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No longer leading the index (term {Term})")]
    private static partial void LogNoLongerLeading(ILogger logger, long term);
}
