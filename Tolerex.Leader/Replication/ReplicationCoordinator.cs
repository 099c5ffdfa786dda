using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// The SET and GET paths: place <c>Tolerance</c> copies in parallel, substitute a member for any copy that
/// fails, acknowledge only when every copy is stored; read from the indexed replicas in order, failing over.
/// Holds no lock across any call.
/// </summary>
internal sealed partial class ReplicationCoordinator(
    MemberRegistry registry,
    ReplicaPlacement placement,
    MessageIndex index,
    VersionClock clock,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<ReplicationCoordinator> logger) : IAsyncDisposable
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    // Lazy: GetOrAdd may run its factory twice under a race, and a writer starts a task.
    private readonly ConcurrentDictionary<MemberNode, Lazy<ReplicaWriter>> _writers = new();

    /// <summary>Stores <paramref name="payload"/> under <paramref name="id"/>; true only when Tolerance copies acked.</summary>
    public async Task<bool> SetAsync(long id, ByteString payload)
    {
        var need = _options.Tolerance;
        var alive = registry.Alive.Length;
        if (alive < need)
        {
            LogNotEnoughMembers(logger, id, alive, need);
            return false;
        }

        return await StoreAndIndexAsync(id, payload, need);
    }

    private async Task<bool> StoreAndIndexAsync(long id, ByteString payload, int need)
    {
        var copy = new Copy { Id = id, Version = clock.Next(), Payload = payload };
        // Every member this SET has used, also the exclusion list for substitutes (so one list serves both).
        var tried = new List<MemberNode>(need + 1);
        placement.Reserve(need, tried, tried);
        // The index record is made durable while the copies are stored, not after them: a SET waits for one
        // fsync instead of two in a row, and the SETs waiting meanwhile share the groups on members and here.
        var write = index.BeginWrite(id, copy.Version, tried.ToArray());
        var pending = new List<Task<(MemberNode Member, bool Stored)>>(tried.Count);
        foreach (var member in tried)
            pending.Add(StoreOnAsync(member, copy));

        var acked = new List<MemberNode>(need);
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            var (member, stored) = await done;
            if (stored)
            {
                acked.Add(member);
                continue;
            }

            // Move this copy to a member that has not been tried for this SET yet.
            var before = tried.Count;
            placement.Reserve(1, tried, tried);
            if (tried.Count > before)
            {
                LeaderMetrics.Substituted();
                LogSubstituted(logger, id, member.Address, tried[^1].Address);
                pending.Add(StoreOnAsync(tried[^1], copy));
            }
        }

        if (acked.Count < need)
        {
            write.Abandon();
            LogSetFailed(logger, id, acked.Count, need);
            return false;
        }

        try
        {
            // False means a newer SET of this id was indexed first; this write is then simply older, and still
            // acknowledged.
            await write.CommitAsync([.. acked]);
            return true;
        }
        catch (IOException e)
        {
            // The copies exist but the index cannot name them durably: not acknowledged.
            LogIndexFailed(logger, id, e);
            return false;
        }
    }

    /// <summary>
    /// Deletes <paramref name="id"/>: the index entry goes first (durably), then every indexed replica gets a
    /// tombstone. False when the id is not indexed.
    /// </summary>
    public async Task<bool> DeleteAsync(long id)
    {
        if (!index.TryGet(id, out _))
            return false;
        var version = clock.Next();
        var (outcome, replicas) = await index.DeleteAsync(id, version);
        if (outcome != DeleteOutcome.Deleted)
            return outcome == DeleteOutcome.Superseded; // a later SET rewrote it: its replicas hold the newer value

        var request = new DeleteRequest { Id = id, Version = version };
        await Task.WhenAll(replicas.Select(async replica =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var reply = await replica.Client.DeleteAsync(request, deadline: DateTime.UtcNow + _options.StoreTimeout);
                replica.ReportLoad(reply.Load);
                LeaderMetrics.ReplicaCall(replica.MetricName, "delete", "ok", started);
            }
            catch (RpcException e)
            {
                // The index no longer names this copy, so it can never be read; it only wastes space there.
                LeaderMetrics.ReplicaCall(replica.MetricName, "delete", "error", started);
                OnCallFailed(replica, e, "delete", id);
            }
        }));
        return true;
    }

    private async Task<(MemberNode, bool)> StoreOnAsync(MemberNode member, Copy copy)
    {
        // One span per copy, under the SET: from placement until the member's durable acknowledgement.
        using var activity = LeaderTelemetry.Source.StartActivity("store copy");
        activity?.SetTag("tolerex.member", member.MetricName);
        try
        {
            var stored = await _writers.GetOrAdd(member, CreateWriter).Value.StoreAsync(copy, activity?.Context ?? default);
            if (!stored)
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "not stored; the copy moves to another member");
            return (member, stored);
        }
        finally
        {
            member.EndPlacement();
        }
    }

    /// <summary>Opens the store stream to a member that came up, before any SET needs it.</summary>
    public void Connect(MemberNode member) => _writers.GetOrAdd(member, CreateWriter).Value.Connect();

    private Lazy<ReplicaWriter> CreateWriter(MemberNode member) => new(() => new ReplicaWriter(member, registry, _options, logger));

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _writers.Values.Where(w => w.IsValueCreated))
            await writer.Value.DisposeAsync();
    }

    /// <summary>Reads the newest acknowledged value of <paramref name="id"/>.</summary>
    public async Task<ReadResult> GetAsync(long id)
    {
        if (!index.TryGet(id, out var entry))
            return ReadResult.NotFound;

        // Replicas believed alive first, in index order; those marked down only as a last resort,
        // in case the mark is stale.
        var answers = new List<RetrieveReply>(entry.Replicas.Length);
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var replica in entry.Replicas)
            {
                if (replica.Alive != (pass == 0))
                    continue;
                var reply = await RetrieveAsync(replica, id, entry.Version);
                if (reply is not null && Holds(reply, entry.Version))
                    return new ReadResult(ReadStatus.Found, reply.Payload);
                if (reply is not null)
                    answers.Add(reply);
                LeaderMetrics.ReadFailedOver();
            }
        }

        // Every indexed replica answered, and none holds the indexed version: that write was never acknowledged
        // (its record was made durable alongside the copies, then the SET failed or the leader crashed, and
        // recovery brought the record back). The newest acknowledged version is elsewhere, or nowhere.
        if (answers.Count == entry.Replicas.Length)
            return await FallBackAsync(id, entry, answers);

        LogReadUnavailable(logger, id, entry.Replicas.Length);
        return ReadResult.Unavailable;
    }

    /// <summary>
    /// Asks every other member for <paramref name="id"/> and serves the newest version found among their
    /// answers and the replicas' (<paramref name="answers"/>). An acknowledged version is held by Tolerance
    /// members, so while fewer than Tolerance members fail to answer, one of its holders has answered: the
    /// newest version found is at least as new (and "none" means there is none).
    /// </summary>
    private async Task<ReadResult> FallBackAsync(long id, IndexEntry entry, List<RetrieveReply> answers)
    {
        LeaderMetrics.ReadFellBack();
        var others = registry.All.Where(m => !entry.Replicas.Contains(m)).ToArray();
        var replies = await Task.WhenAll(others.Select(m => RetrieveAsync(m, id, indexed: null)));
        if (replies.Count(r => r is null) >= _options.Tolerance)
        {
            LogReadUnavailable(logger, id, entry.Replicas.Length);
            return ReadResult.Unavailable;
        }

        var newest = answers.Concat(replies.OfType<RetrieveReply>()).Where(r => r.Found).MaxBy(r => r.Version);
        LogFellBack(logger, id, entry.Version, newest?.Version ?? 0);
        return newest is null ? ReadResult.NotFound : new ReadResult(ReadStatus.Found, newest.Payload);
    }

    private static bool Holds(RetrieveReply reply, long version) => reply.Found && reply.Version >= version;

    /// <summary>
    /// One read attempt on one member; null when it did not answer. With <paramref name="indexed"/> (a replica
    /// of the indexed version) an older answer counts and is logged as stale; without it any answer is fine.
    /// </summary>
    private async Task<RetrieveReply?> RetrieveAsync(MemberNode member, long id, long? indexed)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var reply = await member.Client.RetrieveAsync(new RetrieveRequest { Id = id }, deadline: DateTime.UtcNow + _options.ReadAttemptTimeout);
            var stale = indexed is { } version && !Holds(reply, version);
            LeaderMetrics.ReplicaCall(member.MetricName, "retrieve", stale ? "stale" : "ok", started);
            if (stale)
                LogStaleReplica(logger, id, member.Address, reply.Found ? reply.Version : 0, indexed.GetValueOrDefault());
            return reply;
        }
        catch (RpcException e)
        {
            LeaderMetrics.ReplicaCall(member.MetricName, "retrieve", "error", started);
            OnCallFailed(member, e, "retrieve", id);
            return null;
        }
    }

    private void OnCallFailed(MemberNode member, RpcException e, string operation, long id)
    {
        LogCallFailed(logger, operation, id, member.Address, e.StatusCode, e.Status.Detail);
        registry.CallFailed(member, e.StatusCode, operation, e.Status.Detail);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not enough alive members for replication: id={Id} have={Have} need={Need}")]
    private static partial void LogNotEnoughMembers(ILogger logger, long id, int have, int need);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica substituted: id={Id} failed={Failed} substitute={Substitute}")]
    private static partial void LogSubstituted(ILogger logger, long id, string failed, string substitute);

    [LoggerMessage(Level = LogLevel.Error, Message = "SET id={Id}: the index record could not be made durable")]
    private static partial void LogIndexFailed(ILogger logger, long id, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SET failed: id={Id} acked={Acked} need={Need}")]
    private static partial void LogSetFailed(ILogger logger, long id, int acked, int need);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Operation} id={Id} on {Member} failed: {Status} {Detail}")]
    private static partial void LogCallFailed(ILogger logger, string operation, long id, string member, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Member} has version {Held} of id={Id}, index has {Indexed}; trying the next")]
    private static partial void LogStaleReplica(ILogger logger, long id, string member, long held, long indexed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GET id={Id}: no replica holds indexed version {Indexed} (a SET that was never acknowledged); served version {Served} from a full read (0 = none)")]
    private static partial void LogFellBack(ILogger logger, long id, long indexed, long served);

    [LoggerMessage(Level = LogLevel.Error, Message = "No replica of id={Id} answered ({Replicas} indexed)")]
    private static partial void LogReadUnavailable(ILogger logger, long id, int replicas);
}
