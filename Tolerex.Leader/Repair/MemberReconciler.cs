using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Repair;

/// <summary>
/// Brings a member that came up (after a restart, an outage, or a leader restart) in line with the index: it
/// lists what the member holds, reclaims every copy the index does not name there (ids deleted while it was
/// away, copies that moved to other members, copies of SETs that failed) and has repair refill the copies the
/// index names there but the member lacks or holds in an older version. Ids with a SET or repair in flight are
/// left alone: they are settled by that write.
/// </summary>
internal sealed partial class MemberReconciler(
    MessageIndex index,
    CopyRestorer restorer,
    RepairService repair,
    VersionClock clock,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<MemberReconciler> logger)
{
    private const int ListChunk = 8192;
    private static readonly TimeSpan MaxRetryPause = TimeSpan.FromSeconds(30);
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly ConcurrentDictionary<MemberNode, Task> _running = new();

    /// <summary>Reconciles <paramref name="member"/> in the background (once at a time per member).</summary>
    public void CameUp(MemberNode member)
    {
        if (member.Decommissioned)
            return; // repair takes everything off it anyway
        var started = false;
        _running.GetOrAdd(member, m =>
        {
            started = true;
            return Task.Run(() => ReconcileAsync(m));
        });
        if (!started)
            LogAlreadyReconciling(logger, member.Address);
    }

    /// <summary>Completes when no reconciliation of <paramref name="member"/> is running.</summary>
    internal Task Idle(MemberNode member) => _running.TryGetValue(member, out var task) ? task : Task.CompletedTask;

    /// <summary>
    /// Reconciles until it succeeds or the member goes down (it is reconciled again when it comes back): a list or
    /// reclaim call that fails while the member stays up (a timeout on a busy machine) is tried again after a
    /// growing pause, since no further come-up would trigger it.
    /// </summary>
    private async Task ReconcileAsync(MemberNode member)
    {
        try
        {
            for (var pause = TimeSpan.FromSeconds(1); !await TryReconcileAsync(member) && member.Alive; pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxRetryPause.Ticks)))
            {
                LogRetrying(logger, member.Address, pause.TotalSeconds);
                await Task.Delay(pause);
            }
        }
        finally
        {
            _running.TryRemove(member, out _);
        }
    }

    /// <summary>One reconciliation; false when a call to the member failed before it was done.</summary>
    private async Task<bool> TryReconcileAsync(MemberNode member)
    {
        try
        {
            // Writes numbered after this reach the member themselves (or are settled by their own failure):
            // refilling them from what the list showed would copy them a second time.
            var listedAfter = clock.Last;
            var held = await ListAsync(member);
            var reclaimed = 0;
            var refills = 0;
            var unnamed = new List<(long Id, long Version)>();
            foreach (var (id, version) in held)
            {
                if (!index.TryGet(id, out var entry) || !entry.Replicas.Contains(member))
                {
                    unnamed.Add((id, version));
                }
                else if (version < entry.Version && entry.Version <= listedAfter && !index.Writing(id))
                {
                    repair.Refill(id, member); // it missed the newest write
                    refills++;
                }
            }

            using var gone = new CancellationTokenSource();
            try
            {
                await Parallel.ForEachAsync(unnamed, new ParallelOptions { MaxDegreeOfParallelism = _options.RepairConcurrency, CancellationToken = gone.Token },
                    async (copy, _) =>
                    {
                        switch (await restorer.ReclaimUnnamedAsync(member, copy.Id, copy.Version))
                        {
                            case true:
                                Interlocked.Increment(ref reclaimed);
                                break;
                            case null:
                                await gone.CancelAsync(); // the call failed: tried again while the member is up, else when it comes back
                                break;
                        }
                    });
            }
            catch (OperationCanceledException)
            {
                LeaderMetrics.Reclaimed(reclaimed);
                LogInterrupted(logger, member.Address, reclaimed);
                return false;
            }

            // Ids the index places here that the member does not hold at all (it lost them, or missed them).
            foreach (var (id, entry) in index.Entries)
            {
                if (!held.ContainsKey(id) && entry.Replicas.Contains(member) && entry.Version <= listedAfter && !index.Writing(id))
                {
                    repair.Refill(id, member);
                    refills++;
                }
            }

            LeaderMetrics.Reclaimed(reclaimed);
            if (refills > 0)
                repair.Wake();
            LogReconciled(logger, member.Address, held.Count, reclaimed, refills);
            return true;
        }
        catch (RpcException e)
        {
            LogListFailed(logger, member.Address, e.StatusCode, e.Status.Detail);
            return false;
        }
    }

    /// <summary>Every id the member holds, with the version held.</summary>
    private async Task<Dictionary<long, long>> ListAsync(MemberNode member)
    {
        var held = new Dictionary<long, long>();
        using var call = member.Client.List(new ListRequest { Chunk = ListChunk }, deadline: DateTime.UtcNow + _options.ReconcileTimeout);
        await foreach (var list in call.ResponseStream.ReadAllAsync())
        {
            for (var i = 0; i < list.Ids.Count; i++)
                held[list.Ids[i]] = list.Versions[i];
        }

        return held;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciled {Member}: {Held} copies held, {Reclaimed} the index does not name there reclaimed, {Refills} to refill")]
    private static partial void LogReconciled(ILogger logger, string member, int held, int reclaimed, int refills);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciling {Member}: listing its copies failed: {Status} {Detail}")]
    private static partial void LogListFailed(ILogger logger, string member, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciling {Member} stopped after {Reclaimed} reclaimed copies: a call to it failed")]
    private static partial void LogInterrupted(ILogger logger, string member, int reclaimed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciling {Member} again in {Seconds} s (it is still up)")]
    private static partial void LogRetrying(ILogger logger, string member, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Member} came up while its reconciliation was still running")]
    private static partial void LogAlreadyReconciling(ILogger logger, string member);
}
