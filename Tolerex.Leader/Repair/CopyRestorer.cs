using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Replication;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Repair;

internal enum RepairOutcome
{
    /// <summary>Nothing to do: the id changed or went meanwhile, or already has its copies.</summary>
    Skipped,
    /// <summary>The id has its copies again, and the index names them durably.</summary>
    Restored,
    /// <summary>A replica that lacked the indexed version holds it again.</summary>
    Refilled,
    /// <summary>Not now: no replica answered with the value, or no member could take a copy.</summary>
    Retry,
    /// <summary>Every member the index names for the id is lost: there is nothing left to copy from.</summary>
    NoCopyLeft,
}

/// <summary>
/// Repairs one id at a time: reads the indexed version from a surviving replica and stores it on other members
/// through the same batches SETs use, then records the new replicas only if the id is still indexed at that
/// version, so a newer SET or a DEL meanwhile always wins and a copy is never rolled back (members keep the
/// newest version they were given). A DEL waits for a repair in flight, like for a SET.
/// </summary>
internal sealed partial class CopyRestorer(
    MessageIndex index,
    ReplicaPlacement placement,
    ReplicationCoordinator replication,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<CopyRestorer> logger)
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    // Repairs and reclaims of one id run one at a time, so a reclaim never removes a copy a repair just placed.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    private async Task<Stripe> LockAsync(long id)
    {
        var stripe = _stripes[(int)((ulong)id % (ulong)_stripes.Length)];
        await stripe.WaitAsync();
        return new Stripe(stripe);
    }

    private readonly struct Stripe(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }

    /// <summary>Gives <paramref name="id"/> (indexed at <paramref name="version"/>) Tolerance copies outside <paramref name="lost"/>.</summary>
    public async Task<RepairOutcome> RestoreAsync(long id, long version, IReadOnlySet<MemberNode> lost)
    {
        using var stripe = await LockAsync(id);
        using var hold = index.HoldForRepair(id);
        if (!index.TryGet(id, out var entry) || entry.Version != version)
            return RepairOutcome.Skipped; // rewritten (on members placement chose) or deleted meanwhile
        var replicas = entry.Replicas;
        var keep = replicas.Where(r => !lost.Contains(r)).ToList();
        var need = _options.Tolerance - keep.Count;
        // Survivors first (alive ones first); a lost member that still answers (a decommissioned one) last.
        var sources = keep.OrderBy(r => r.Alive ? 0 : 1).Concat(replicas.Where(r => lost.Contains(r) && r.Alive)).ToList();
        if (sources.Count == 0)
        {
            if (_throttle.Allow("no-copy-left", out var held))
                LogNoCopyLeft(logger, id, version, held);
            return RepairOutcome.NoCopyLeft;
        }

        if (need <= 0)
        {
            // Enough copies without the lost members: only the index changes.
            return await ReplaceAsync(id, version, [.. keep], replicas, added: [], version) ? RepairOutcome.Restored : RepairOutcome.Skipped;
        }

        var copy = await ReadAsync(id, version, sources);
        if (copy is null)
            return RepairOutcome.Retry;

        var targets = new List<MemberNode>(need);
        placement.Reserve(need, replicas, targets);
        if (targets.Count == 0)
        {
            if (_throttle.Allow("no-member", out var held))
                LogNoMember(logger, id, keep.Count, _options.Tolerance, held);
            return RepairOutcome.Retry;
        }

        var stored = await Task.WhenAll(targets.Select(t => replication.StoreCopyAsync(t, copy)));
        var added = targets.Where((_, i) => stored[i]).ToArray();
        if (added.Length == 0)
            return RepairOutcome.Retry;
        if (!await ReplaceAsync(id, version, [.. keep, .. added], replicas, added, copy.Version))
            return RepairOutcome.Skipped;
        return keep.Count + added.Length >= _options.Tolerance ? RepairOutcome.Restored : RepairOutcome.Retry;
    }

    /// <summary>
    /// Stores the indexed version of <paramref name="id"/> on <paramref name="member"/>, one of its indexed replicas
    /// that does not hold it (it missed the write, or lost its data), from another replica.
    /// </summary>
    public async Task<RepairOutcome> RefillAsync(long id, MemberNode member)
    {
        using var stripe = await LockAsync(id);
        using var hold = index.HoldForRepair(id);
        if (!index.TryGet(id, out var entry) || !entry.Replicas.Contains(member) || !member.Alive || member.Decommissioned)
            return RepairOutcome.Skipped;
        var copy = await ReadAsync(id, entry.Version, [.. entry.Replicas.Where(r => r != member).OrderBy(r => r.Alive ? 0 : 1)]);
        if (copy is null)
            return RepairOutcome.Retry;
        member.BeginPlacement();
        return await replication.StoreCopyAsync(member, copy) ? RepairOutcome.Refilled : RepairOutcome.Retry;
    }

    /// <summary>
    /// Reclaims <paramref name="member"/>'s copy of <paramref name="id"/> (it holds <paramref name="held"/>) unless
    /// the index names the member for the id or a SET of it is in flight. Null when the member could not be asked.
    /// </summary>
    public async Task<bool?> ReclaimUnnamedAsync(MemberNode member, long id, long held)
    {
        using var stripe = await LockAsync(id);
        // Writing first, then the entry: a SET that ends in between is already in the entry.
        if (index.Writing(id) || (index.TryGet(id, out var entry) && entry.Replicas.Contains(member)))
            return false;
        return await replication.ReclaimAsync(member, id, held) ? true : null;
    }

    /// <summary>
    /// Names <paramref name="replicas"/> durably if <paramref name="id"/> is still at <paramref name="version"/>;
    /// then the members that left the list (and still answer) give up their copies. Otherwise the copies just
    /// <paramref name="added"/> are reclaimed. Reclaiming removes a copy of <paramref name="copied"/> or older,
    /// so a newer write there is kept.
    /// </summary>
    private async Task<bool> ReplaceAsync(long id, long version, MemberNode[] replicas, MemberNode[] before, MemberNode[] added, long copied)
    {
        if (!await index.ReplaceReplicasAsync(id, version, replicas))
        {
            foreach (var member in added)
                await replication.ReclaimAsync(member, id, copied);
            return false;
        }

        foreach (var member in before.Where(m => !replicas.Contains(m) && m.Alive))
            await replication.ReclaimAsync(member, id, copied);
        return true;
    }

    /// <summary>The value a GET would serve from the first of <paramref name="sources"/> that holds it, as a copy to store.</summary>
    private async Task<Copy?> ReadAsync(long id, long version, IReadOnlyList<MemberNode> sources)
    {
        foreach (var source in sources)
        {
            try
            {
                var reply = await source.Client.RetrieveAsync(new RetrieveRequest { Id = id }, deadline: DateTime.UtcNow + _options.StoreTimeout);
                if (reply.Found && reply.Version >= version)
                    return new Copy { Id = id, Version = reply.Version, Payload = reply.Payload };
            }
            catch (RpcException e)
            {
                if (_throttle.Allow($"read:{source.Address}:{e.StatusCode}", out var held))
                    LogReadFailed(logger, id, source.Address, e.StatusCode, held);
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Repair: id={Id} version={Version} has no copy left on any member that is not lost ({Held} more held back)")]
    private static partial void LogNoCopyLeft(ILogger logger, long id, long version, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repair: id={Id} has {Have} of {Need} copies and no other member can take one ({Held} more held back)")]
    private static partial void LogNoMember(ILogger logger, long id, int have, int need, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repair: reading id={Id} from {Member} failed: {Status} ({Held} more held back)")]
    private static partial void LogReadFailed(ILogger logger, long id, string member, StatusCode status, long held);
}
