using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Logging;

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
    private readonly ReplicaReader _reader = new(registry, index, leaderOptions.Value, logger);
    private readonly ValueCache _cache = new(leaderOptions.Value.ValueCacheBytes);
    private readonly Func<long> _nextVersion = clock.Next; // made once: a method group makes a delegate per SET
    // Per-request warnings: one line a second per kind, with a count of those held back.
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    // A DEL rewritten under it by newer SETs this many times in a row answers ERROR: delete failed.
    private const int MaxDeleteAttempts = 3;

    /// <summary>Stores <paramref name="payload"/> under <paramref name="id"/>; true only when Tolerance copies acked.</summary>
    public Task<bool> SetAsync(long id, ByteString payload)
    {
        var need = _options.Tolerance;
        // Just after this node began leading, members may still be finding it: the SET waits for them.
        return registry.Placeable.Length < need ? SetWhenPlaceableAsync(id, payload, need) : StoreAndIndexAsync(id, payload, need);
    }

    private async Task<bool> SetWhenPlaceableAsync(long id, ByteString payload, int need)
    {
        if (!await registry.WaitForPlaceableAsync(need, _options.WriteTimeout))
        {
            if (_throttle.Allow("not-enough-members", out var held))
                LogNotEnoughMembers(logger, id, registry.Placeable.Length, need, held);
            return false;
        }

        return await StoreAndIndexAsync(id, payload, need);
    }

    private async Task<bool> StoreAndIndexAsync(long id, ByteString payload, int need)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.WriteTimeout.TotalSeconds * Stopwatch.Frequency);
        // The members of this round: those holding a copy and those tried, also the exclusion list for substitutes.
        var tried = new List<MemberNode>(need + 1);
        placement.Reserve(need, tried, tried);
        // The index record is made durable while the copies are stored, not after them: a SET waits for one
        // fsync instead of two in a row, and the SETs waiting meanwhile share the groups on members and here.
        // The version is taken once the write is in flight (see BeginWrite).
        var write = index.BeginWrite(id, _nextVersion, tried.ToArray());
        var copy = new Copy { Id = id, Version = write.Version, Payload = payload };
        using var copies = new CopyOutcomes(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline));
        foreach (var member in tried)
            StoreOn(member, copy, copies);

        var acked = new List<MemberNode>(need);
        for (var round = 0; ; round++)
        {
            await StoreRoundAsync(id, copy, copies, tried, acked);
            if (acked.Count >= need || Stopwatch.GetTimestamp() >= deadline || registry.Placeable.Length < need)
                break;

            // Every member was tried and too few stored the copy. A member that is merely busy (a cold start, a
            // starved machine) may store it on a second try: a SET answers slowly rather than wrongly, within
            // WriteTimeout. A member that is down is not placeable, and too few of those fail the SET now.
            var pause = RetryPause.After(round);
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            await Task.Delay(pause < left ? pause : left);
            tried.Clear();
            tried.AddRange(acked);
            placement.Reserve(need - acked.Count, tried, tried);
            for (var i = acked.Count; i < tried.Count; i++)
                StoreOn(tried[i], copy, copies);
            LeaderMetrics.StoreRetried();
            if (_throttle.Allow("store-retried", out var held))
                LogStoreRetried(logger, id, acked.Count, need, round + 1, held);
        }

        if (acked.Count < need)
        {
            write.Abandon();
            if (_throttle.Allow("set-failed", out var held))
                LogSetFailed(logger, id, acked.Count, need, held);
            return false;
        }

        try
        {
            // False means a newer SET of this id was indexed first; this write is then simply older, and still
            // acknowledged.
            if (await write.CommitAsync(acked))
                _cache.Put(id, write.Version, payload);
            return true;
        }
        catch (IOException e)
        {
            // The copies exist but the index cannot name them durably: not acknowledged.
            if (_throttle.Allow("index-failed", out var held))
                LogIndexFailed(logger, id, held, e);
            return false;
        }
    }

    /// <summary>
    /// Waits for the copies in flight until the deadline, moving each copy that fails to a member not yet in
    /// <paramref name="tried"/>. Copies still in flight at the deadline are left to finish unheeded.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // one per SET: its state is reused, not allocated
    private async ValueTask StoreRoundAsync(long id, Copy copy, CopyOutcomes copies, List<MemberNode> tried, List<MemberNode> acked)
    {
        while (await copies.NextAsync())
        {
            var (member, ok) = copies.Take();
            if (ok)
                acked.Add(member);
            else
                Substitute(id, copy, copies, tried, member);
        }
    }

    /// <summary>Moves the copy that <paramref name="failed"/> to store to a member that has not been tried in this round yet.</summary>
    private void Substitute(long id, Copy copy, CopyOutcomes copies, List<MemberNode> tried, MemberNode failed)
    {
        var before = tried.Count;
        placement.Reserve(1, tried, tried);
        if (tried.Count == before)
            return;
        LeaderMetrics.Substituted();
        if (_throttle.Allow("substituted:" + failed.Address, out var held))
            LogSubstituted(logger, id, failed.Address, tried[^1].Address, held);
        StoreOn(tried[^1], copy, copies);
    }

    /// <summary>
    /// Deletes <paramref name="id"/>: the index entry goes first (durably), then every indexed replica gets a
    /// tombstone. False when the id is not indexed.
    /// </summary>
    public async Task<bool> DeleteAsync(long id)
    {
        var (outcome, replicas, version) = (DeleteOutcome.Superseded, Array.Empty<MemberNode>(), 0L);
        for (var attempt = 0; outcome == DeleteOutcome.Superseded; attempt++)
        {
            // A SET numbered after this DEL rewrote the id meanwhile: delete again, numbered after it. (Answering OK
            // as if the DEL had come first would be wrong when another DEL came first too: two OKs for one value.)
            if (attempt == MaxDeleteAttempts)
                throw new IOException($"DEL id={id}: rewritten by newer SETs {MaxDeleteAttempts} times while deleting");
            if (!index.TryGet(id, out _))
                return false;
            version = clock.Next();
            (outcome, replicas) = await index.DeleteAsync(id, version);
        }

        if (outcome == DeleteOutcome.NotFound)
            return false; // another DEL took it first
        _cache.Remove(id);

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

    /// <summary>
    /// Sends <paramref name="copy"/> to <paramref name="member"/>'s writer; its outcome comes to
    /// <paramref name="copies"/>, which ends the placement begun on the member (<see cref="ReplicaPlacement.Reserve"/>).
    /// </summary>
    private void StoreOn(MemberNode member, Copy copy, CopyOutcomes copies)
    {
        // One span per copy, under the SET: from placement until the member's durable acknowledgement. It ends on
        // the flow that reports the copy, so it must not stay the current span of this one.
        Activity? span = null;
        if (LeaderTelemetry.Source.HasListeners())
        {
            var previous = Activity.Current;
            span = LeaderTelemetry.Source.StartActivity("store copy");
            span?.SetTag("tolerex.member", member.MetricName);
            Activity.Current = previous;
        }

        copies.Sent();
        WriterFor(member).Store(new ReplicaWriter.Pending(copy, copies, span));
    }

    /// <summary>
    /// Stores <paramref name="copy"/> on <paramref name="member"/> through its batches, as a SET would; the
    /// caller has begun a placement on the member (<see cref="ReplicaPlacement.Reserve"/>), which ends here.
    /// </summary>
    public async Task<bool> StoreCopyAsync(MemberNode member, Copy copy)
    {
        using var copies = new CopyOutcomes(left: null);
        StoreOn(member, copy, copies);
        await copies.NextAsync();
        return copies.Take().Stored;
    }

    /// <summary>
    /// Removes <paramref name="member"/>'s copy of <paramref name="id"/> if it holds <paramref name="version"/> or an
    /// older one (a newer write there survives); false when the member could not be asked.
    /// </summary>
    public async Task<bool> ReclaimAsync(MemberNode member, long id, long version)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var reply = await member.Client.DeleteAsync(new DeleteRequest { Id = id, Version = version, Reclaim = true }, deadline: DateTime.UtcNow + _options.StoreTimeout);
            member.ReportLoad(reply.Load);
            LeaderMetrics.ReplicaCall(member.MetricName, "reclaim", "ok", started);
            return true;
        }
        catch (RpcException e)
        {
            LeaderMetrics.ReplicaCall(member.MetricName, "reclaim", "error", started);
            OnCallFailed(member, e, "reclaim", id);
            return false;
        }
    }

    /// <summary>Opens the store stream to a member that came up, before any SET needs it.</summary>
    public void Connect(MemberNode member) => WriterFor(member).Connect();

    /// <summary>The member's writer; the lookup allocates nothing once it exists (every copy takes this path).</summary>
    private ReplicaWriter WriterFor(MemberNode member) =>
        (_writers.TryGetValue(member, out var writer) ? writer : _writers.GetOrAdd(member, CreateWriter)).Value;

    private Lazy<ReplicaWriter> CreateWriter(MemberNode member) => new(() => new ReplicaWriter(member, registry, _options, logger));

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _writers.Values.Where(w => w.IsValueCreated))
            await writer.Value.DisposeAsync();
        await _reader.DisposeAsync();
    }

    /// <summary>Reads the newest acknowledged value of <paramref name="id"/> (from the cache or the index alone without allocating).</summary>
    public async ValueTask<ReadResult> GetAsync(long id)
    {
        if (!index.TryGet(id, out var entry))
            return ReadResult.NotFound;
        // The index names the version to serve; a value kept at exactly that version is it.
        if (_cache.TryGet(id, entry.Version, out var cached))
        {
            LeaderMetrics.ValueCacheRead(hit: true);
            return new ReadResult(ReadStatus.Found, cached, entry.Version);
        }

        if (_cache.Enabled)
            LeaderMetrics.ValueCacheRead(hit: false);
        var read = await _reader.ReadAsync(id, entry);
        if (read.Status == ReadStatus.Found)
            _cache.Put(id, read.Version, read.Payload!);
        return read;
    }

    /// <summary>The values kept for GETs (see <see cref="ValueCache"/>).</summary>
    public ValueCache Cache => _cache;

    private void OnCallFailed(MemberNode member, RpcException e, string operation, long id)
    {
        if (_throttle.Allow($"{operation}:{member.Address}:{e.StatusCode}", out var held))
            LogCallFailed(logger, operation, id, member.Address, e.StatusCode, e.Status.Detail, held);
        registry.CallFailed(member, e.StatusCode, operation, e.Status.Detail);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not enough alive members for replication: id={Id} have={Have} need={Need} ({Held} more held back)")]
    private static partial void LogNotEnoughMembers(ILogger logger, long id, int have, int need, long held);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica substituted: id={Id} failed={Failed} substitute={Substitute} ({Held} more held back)")]
    private static partial void LogSubstituted(ILogger logger, long id, string failed, string substitute, long held);

    [LoggerMessage(Level = LogLevel.Error, Message = "SET id={Id}: the index record could not be made durable ({Held} more held back)")]
    private static partial void LogIndexFailed(ILogger logger, long id, long held, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "SET id={Id}: {Acked} of {Need} copies stored after every member was tried; trying again (round {Round}) ({Held} more held back)")]
    private static partial void LogStoreRetried(ILogger logger, long id, int acked, int need, int round, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SET failed: id={Id} acked={Acked} need={Need} ({Held} more held back)")]
    private static partial void LogSetFailed(ILogger logger, long id, int acked, int need, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Operation} id={Id} on {Member} failed: {Status} {Detail} ({Held} more held back)")]
    private static partial void LogCallFailed(ILogger logger, string operation, long id, string member, StatusCode status, string detail, long held);
}
