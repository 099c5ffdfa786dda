using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Repair;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Commands;

internal enum AuthOutcome { Accepted, Refused, NoPasswordSet }

internal enum DelOutcome { Deleted, NotFound, Failed }

internal enum DecommissionOutcome { Decommissioned, UnknownMember, Failed }

/// <summary>What STATUS reports.</summary>
internal readonly record struct LeaderStatus(
    string Node, string Role, string Leader, long Term, long CommitIndex,
    int MembersAlive, int MembersKnown, int MembersDecommissioned, int Tolerance, int Ids, int UnderReplicated, bool Repairing,
    long RepairedCopies, long ReclaimedCopies);

/// <summary>What a bulk SET did: <see cref="Stored"/> of <see cref="Count"/> ids from <see cref="First"/>; no ids at all when none were free.</summary>
internal readonly record struct BulkSetResult(long Count, long First, long Stored, bool NoFreeIds)
{
    public long Last => First + Count - 1;
    public bool Complete => !NoFreeIds && Stored == Count;
}

/// <summary>
/// The leader's commands, whatever protocol they arrive in: each does its work and returns a typed result,
/// which the front ends (HaToKuSe and RESP) turn into reply bytes.
/// </summary>
internal sealed partial class LeaderCommands(
    ReplicationCoordinator replication,
    MessageIndex index,
    MemberRegistry registry,
    RepairService repair,
    Leadership leadership,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<LeaderCommands> logger)
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    private readonly byte[] _passwordHash = SHA256.HashData(Encoding.UTF8.GetBytes(leaderOptions.Value.Password ?? ""));

    /// <summary>False when no password is configured: every connection starts authenticated.</summary>
    public bool PasswordRequired => _options.Password is not null;

    public async Task<AuthOutcome> AuthenticateAsync(ReadOnlySequence<byte> password)
    {
        if (_options.Password is null)
            return AuthOutcome.NoPasswordSet;
        // Hash both sides so the comparison takes the same time whatever the lengths and contents.
        if (CryptographicOperations.FixedTimeEquals(SHA256.HashData(password.ToArray()), _passwordHash))
            return AuthOutcome.Accepted;
        if (_throttle.Allow("auth", out var held))
            LogAuthFailed(logger, held);
        await Task.Delay(_options.AuthFailureDelay);
        return AuthOutcome.Refused;
    }

    /// <summary>Stores <paramref name="payload"/> under <paramref name="id"/>; true once Tolerance copies and the index entry are durable.</summary>
    public Task<bool> SetAsync(long id, ByteString payload) =>
        LeaderTelemetry.Source.HasListeners() ? TracedSetAsync(id, payload) : replication.SetAsync(id, payload);

    private async Task<bool> TracedSetAsync(long id, ByteString payload)
    {
        using var activity = LeaderTelemetry.Source.StartActivity("SET");
        activity?.SetTag("tolerex.id", id);
        return await replication.SetAsync(id, payload);
    }

    public async ValueTask<ReadResult> GetAsync(long id)
    {
        using var activity = LeaderTelemetry.Source.StartActivity("GET");
        activity?.SetTag("tolerex.id", id);
        // A node cut off from its group may have been replaced by a new leader that acknowledged newer writes.
        if (!await leadership.CanReadAsync())
            return ReadResult.NoLeader;
        return await replication.GetAsync(id);
    }

    /// <summary>Whether <paramref name="id"/> is indexed: <see cref="ReadStatus.Found"/>, <see cref="ReadStatus.NotFound"/> or, off the leader's lease, <see cref="ReadStatus.NoLeader"/>.</summary>
    public async Task<ReadStatus> ExistsAsync(long id)
    {
        if (!await leadership.CanReadAsync())
            return ReadStatus.NoLeader;
        return index.TryGet(id, out _) ? ReadStatus.Found : ReadStatus.NotFound;
    }

    /// <summary>How many ids are indexed.</summary>
    public int Count => index.Count;

    public async Task<DelOutcome> DeleteAsync(long id)
    {
        using var activity = LeaderTelemetry.Source.StartActivity("DEL");
        activity?.SetTag("tolerex.id", id);
        try
        {
            return await replication.DeleteAsync(id) ? DelOutcome.Deleted : DelOutcome.NotFound;
        }
        catch (IOException)
        {
            return DelOutcome.Failed;
        }
    }

    /// <summary>Stores <paramref name="count"/> copies of <paramref name="payload"/> under fresh ids above every id in use.</summary>
    public async Task<BulkSetResult> BulkSetAsync(long count, ByteString payload)
    {
        if (!index.TryReserveIds(count, out var first))
            return new BulkSetResult(count, 0, 0, NoFreeIds: true);

        long stored = 0;
        await Parallel.ForAsync(0L, count, new ParallelOptions { MaxDegreeOfParallelism = _options.BulkConcurrency }, async (i, _) =>
        {
            if (await replication.SetAsync(first + i, payload))
                Interlocked.Increment(ref stored);
        });

        var result = new BulkSetResult(count, first, stored, NoFreeIds: false);
        if (!result.Complete)
            LogBulkIncomplete(logger, stored, count, first);
        return result;
    }

    public LeaderStatus Status() => new(
        _options.Name, leadership.Role, leadership.LeaderName, leadership.Term, leadership.CommitIndex,
        registry.Alive.Length, registry.All.Length, registry.All.Count(m => m.Decommissioned), _options.Tolerance, index.Count,
        repair.UnderReplicated, repair.Running, LeaderMetrics.RepairedCopies, LeaderMetrics.ReclaimedCopies);

    /// <summary>
    /// Marks the member named <paramref name="name"/> (address, identity or name) as leaving, durably: it gets no
    /// new copies and repair moves the ones it holds to other members.
    /// </summary>
    public async Task<DecommissionOutcome> DecommissionAsync(string name)
    {
        if (registry.Find(name) is not { } member)
            return DecommissionOutcome.UnknownMember;
        try
        {
            await index.DecommissionAsync(member);
            repair.Wake();
            return DecommissionOutcome.Decommissioned;
        }
        catch (IOException)
        {
            return DecommissionOutcome.Failed;
        }
    }

    /// <summary>Every member ever registered, alive or not, in address order.</summary>
    public IReadOnlyList<MemberNode> Members => registry.All;

    [LoggerMessage(Level = LogLevel.Warning, Message = "AUTH with a wrong password ({Held} more held back)")]
    private static partial void LogAuthFailed(ILogger logger, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bulk SET incomplete: {Stored} of {Count} stored from id {First}")]
    private static partial void LogBulkIncomplete(ILogger logger, long stored, long count, long first);
}
