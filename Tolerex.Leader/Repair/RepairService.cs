using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Telemetry;

namespace Tolerex.Leader.Repair;

/// <summary>
/// Restores the replication factor. Every <see cref="LeaderOptions.RepairInterval"/> it looks for lost members
/// (decommissioned, or down longer than <see cref="LeaderOptions.ReplaceAfter"/>) and, when there are any,
/// walks the index and gives every id that names one (or has fewer than Tolerance replicas) its copies back on
/// other members, at most <see cref="LeaderOptions.RepairCopiesPerSecond"/>. Copies a member that came back
/// should hold but does not (found by <see cref="MemberReconciler"/>) are refilled the same way. Everything it
/// needs is in the durable index, so a restarted leader simply carries on.
/// </summary>
internal sealed partial class RepairService(
    MessageIndex index,
    MemberRegistry registry,
    CopyRestorer restorer,
    Leadership leadership,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<RepairService> logger) : BackgroundService
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly ConcurrentQueue<(long Id, MemberNode Member)> _refills = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Lock _countLock = new();
    private (long At, MemberNode[] Placeable, int Count) _underReplicated = (long.MinValue, [], 0);
    private volatile bool _running;
    // The first pass always walks the index: Tolerance may have been raised since the last run.
    private bool _rescan = true;
    // The lost members of the last pass that left nothing to try again: no new copy goes to a lost member, so
    // while the lost set stays the same another walk would find nothing new.
    private HashSet<MemberNode> _settled = [];

    /// <summary>True while a repair pass is restoring copies.</summary>
    public bool Running => _running;

    /// <summary>
    /// Ids with fewer than Tolerance indexed copies on members that are alive and not decommissioned; computed
    /// from the whole index at most twice a second while no member comes, goes or leaves.
    /// </summary>
    public int UnderReplicated
    {
        get
        {
            lock (_countLock)
            {
                var now = Environment.TickCount64;
                var placeable = registry.Placeable; // a new snapshot whenever a member comes, goes or leaves
                if (now - _underReplicated.At < 500 && ReferenceEquals(placeable, _underReplicated.Placeable))
                    return _underReplicated.Count;
                var tolerance = _options.Tolerance;
                var count = 0;
                foreach (var (_, entry) in index.Entries)
                {
                    var live = 0;
                    foreach (var replica in entry.Replicas)
                    {
                        if (replica.Alive && !replica.Decommissioned)
                            live++;
                    }

                    if (live < tolerance)
                        count++;
                }

                _underReplicated = (now, placeable, count);
                return count;
            }
        }
    }

    /// <summary><paramref name="member"/> should hold <paramref name="id"/> as indexed but does not: copy it there again.</summary>
    public void Refill(long id, MemberNode member) => _refills.Enqueue((id, member));

    /// <summary>Starts a pass now instead of at the next interval.</summary>
    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, _options.RepairCopiesPerSecond / 10),
            TokensPerPeriod = Math.Max(1, _options.RepairCopiesPerSecond / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = int.MaxValue,
            AutoReplenishment = true,
        });
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_options.RepairInterval, stoppingToken);
                if (leadership.Leading) // only the group's leader knows which members are alive
                    await PassAsync(limiter, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogPassFailed(logger, e);
            }
            finally
            {
                _running = false;
            }
        }
    }

    /// <summary>Members whose copies must move: decommissioned ones, and those down longer than ReplaceAfter.</summary>
    private HashSet<MemberNode> Lost() =>
        registry.All.Where(m => m.Decommissioned || (!m.Alive && m.SinceHeartbeat >= _options.ReplaceAfter)).ToHashSet();

    private async Task PassAsync(RateLimiter limiter, CancellationToken stoppingToken)
    {
        var lost = Lost();
        var walk = _rescan || !lost.SetEquals(_settled);
        if (!walk && _refills.IsEmpty)
            return;

        var tolerance = _options.Tolerance;
        var tally = new RepairTally();
        using var slots = new SemaphoreSlim(_options.RepairConcurrency);
        var running = new List<Task>();

        async Task Run(Func<Task<RepairOutcome>> repair)
        {
            _running = true;
            using var lease = await limiter.AcquireAsync(1, stoppingToken);
            await slots.WaitAsync(stoppingToken);
            running.Add(Task.Run(async () =>
            {
                try
                {
                    tally.Add(await repair());
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None));
            running.RemoveAll(t => t.IsCompleted);
        }

        while (_refills.TryDequeue(out var refill))
            await Run(() => restorer.RefillAsync(refill.Id, refill.Member));

        if (walk)
        {
            foreach (var (id, entry) in index.Entries)
            {
                if (entry.Replicas.Length >= tolerance && !entry.Replicas.Any(lost.Contains))
                    continue;
                await Run(() => restorer.RestoreAsync(id, entry.Version, lost));
            }
        }

        await Task.WhenAll(running);
        // Ids that could not be repaired (no source answered, no member to take a copy) are tried again in the
        // next pass, even if by then no member counts as lost.
        _rescan = tally.Retry > 0;
        if (walk && !_rescan)
            _settled = lost;
        if (tally.Restored + tally.Refilled > 0 || (walk && tally.Total > 0 && !_rescan))
            LogPass(logger, lost.Count, tally.Restored, tally.Refilled, tally.Retry, tally.NoCopyLeft);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Repair pass: {Lost} lost members; {Restored} ids given their copies back, {Refilled} copies refilled, {Retry} to try again, {Gone} with no copy left")]
    private static partial void LogPass(ILogger logger, int lost, long restored, long refilled, long retry, long gone);

    [LoggerMessage(Level = LogLevel.Error, Message = "Repair pass failed; trying again at the next interval")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    private sealed class RepairTally
    {
        private long _restored;
        private long _refilled;
        private long _retry;
        private long _noCopyLeft;

        public long Restored => Interlocked.Read(ref _restored);
        public long Refilled => Interlocked.Read(ref _refilled);
        public long Retry => Interlocked.Read(ref _retry);
        public long NoCopyLeft => Interlocked.Read(ref _noCopyLeft);
        public long Total => Restored + Refilled + Retry + NoCopyLeft;

        public void Add(RepairOutcome outcome)
        {
            switch (outcome)
            {
                case RepairOutcome.Restored:
                    Interlocked.Increment(ref _restored);
                    LeaderMetrics.Repaired();
                    break;
                case RepairOutcome.Refilled:
                    Interlocked.Increment(ref _refilled);
                    LeaderMetrics.Repaired();
                    break;
                case RepairOutcome.Retry:
                    Interlocked.Increment(ref _retry);
                    break;
                case RepairOutcome.NoCopyLeft:
                    Interlocked.Increment(ref _noCopyLeft);
                    break;
            }
        }
    }
}
