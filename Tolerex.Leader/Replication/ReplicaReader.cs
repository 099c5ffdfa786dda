using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Replication;

/// <summary>
/// The GET path. A read answers slowly rather than wrongly when members are merely busy: it keeps asking the
/// indexed replicas until <see cref="LeaderOptions.ReadTimeout"/>, giving a replica that did not answer in time
/// twice as long in each round, and starting the next replica early (hedging) when one is slower than
/// <see cref="LeaderOptions.ReadHedgeDelay"/>. <c>ERROR: retrieve failed</c> only when no replica that holds
/// the value could answer within the whole deadline.
/// </summary>
internal sealed partial class ReplicaReader(MemberRegistry registry, MessageIndex index, LeaderOptions options, ILogger logger) : IAsyncDisposable
{
    private enum Outcome { Holds, Answered, Refused, TimedOut }

    // Reads of a newer version when the index moved on during a read; under a storm of rewrites, then the fallback.
    private const int MaxRereads = 3;

    // Per-request warnings: one line a second per kind, with a count of those held back.
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    // Lazy: GetOrAdd may run its factory twice under a race, and a fetcher starts a task.
    private readonly ConcurrentDictionary<MemberNode, Lazy<ReplicaFetcher>> _fetchers = new();

    private readonly record struct Attempt(Outcome Outcome, RetrieveReply? Reply);

    /// <summary>Reads the newest acknowledged value of <paramref name="id"/>, indexed as <paramref name="entry"/>.</summary>
    public Task<ReadResult> ReadAsync(long id, IndexEntry entry) => ReadAsync(id, entry, rereads: 0, Stopwatch.StartNew());

    /// <param name="clock">Started when the GET began: a read again of a newer entry stays within the same ReadTimeout.</param>
    private async Task<ReadResult> ReadAsync(long id, IndexEntry entry, int rereads, Stopwatch clock)
    {
        // Replicas believed alive first, in index order; those marked down last, in case the mark is stale.
        var replicas = entry.Replicas.OrderBy(r => r.Alive ? 0 : 1).ToArray();
        var answers = new RetrieveReply?[replicas.Length];
        var refused = new bool[replicas.Length];
        var attemptTimeout = options.ReadAttemptTimeout;
        using var done = new CancellationTokenSource();
        try
        {
            while (Remaining(clock) > TimeSpan.Zero)
            {
                var round = Enumerable.Range(0, replicas.Length).Where(i => answers[i] is null && !refused[i]).ToList();
                if (round.Count == 0)
                    break;
                var running = new Dictionary<Task<Attempt>, int>();
                var started = 0;
                void StartNext()
                {
                    var i = round[started++];
                    running[AttemptAsync(replicas[i], id, entry.Version, Min(attemptTimeout, Remaining(clock)), done.Token)] = i;
                }

                StartNext();
                while (running.Count > 0)
                {
                    var hedge = started < round.Count ? Task.Delay(Min(options.ReadHedgeDelay, Remaining(clock)), done.Token) : null;
                    var finished = await Task.WhenAny(hedge is null ? running.Keys : running.Keys.Append(hedge));
                    if (finished == hedge)
                    {
                        StartNext(); // the replica asked last is slow: ask the next one too
                        continue;
                    }

                    var attempt = (Task<Attempt>)finished;
                    var slot = running[attempt];
                    running.Remove(attempt);
                    var (outcome, reply) = await attempt;
                    if (outcome == Outcome.Holds)
                    {
                        if (reply!.Version == entry.Version)
                            return new ReadResult(ReadStatus.Found, reply.Payload, reply.Version);
                        if (await NewerAsync(id, entry, reply, rereads, clock) is { } newer)
                            return newer;
                        outcome = Outcome.Answered; // a version never acknowledged: ask the other replicas
                    }
                    LeaderMetrics.ReadFailedOver();
                    if (outcome == Outcome.Answered)
                        answers[slot] = reply;
                    refused[slot] = outcome == Outcome.Refused;
                    if (running.Count == 0 && started < round.Count)
                        StartNext();
                }

                attemptTimeout *= 2;
            }
        }
        finally
        {
            await done.CancelAsync(); // hedged attempts still running are not needed any more
        }

        // Every indexed replica answered, and none holds the indexed version: that write was never acknowledged
        // (its record was made durable alongside the copies, then the SET failed or the leader crashed, and
        // recovery brought the record back). The newest acknowledged version is elsewhere, or nowhere.
        if (answers.All(a => a is not null))
        {
            // Unless the index moved on while the replicas were asked: a DEL (its tombstones removed the copies)
            // or a newer SET. The GET then takes effect after it. Falling back here would serve an older copy
            // some other member still holds.
            if (!index.TryGet(id, out var now))
                return ReadResult.NotFound;
            if (now.Version != entry.Version && rereads < MaxRereads)
                return await ReadAsync(id, now, rereads + 1, clock);
            return await FallBackAsync(id, entry, answers!, clock);
        }

        ReadUnavailable(id, replicas.Length, clock);
        return ReadResult.Unavailable;
    }

    /// <summary>
    /// A replica holds a version newer than the one indexed when this read began. It is served only once the
    /// index shows it: a SET still storing its copies is not acknowledged, and a read that saw its value
    /// before a later read saw the older one would not be linearizable. So wait for the SETs of this id in
    /// flight, then read as the index says. Null when the index still names the version this read began
    /// with: the newer copy was never acknowledged, and another replica holds the indexed one.
    /// </summary>
    private async Task<ReadResult?> NewerAsync(long id, IndexEntry entry, RetrieveReply reply, int rereads, Stopwatch clock)
    {
        if (index.TryGet(id, out var now) && now.Version == reply.Version)
            return new ReadResult(ReadStatus.Found, reply.Payload, reply.Version);
        try
        {
            await index.WhenWritesDone(id).WaitAsync(Remaining(clock));
        }
        catch (TimeoutException)
        {
        }

        if (!index.TryGet(id, out now))
            return ReadResult.NotFound;
        if (now.Version == entry.Version)
            return null;
        if (now.Version == reply.Version)
            return new ReadResult(ReadStatus.Found, reply.Payload, reply.Version);
        if (rereads < MaxRereads && Remaining(clock) > TimeSpan.Zero)
            return await ReadAsync(id, now, rereads + 1, clock);
        ReadUnavailable(id, now.Replicas.Length, clock);
        return ReadResult.Unavailable;
    }

    private void ReadUnavailable(long id, int replicas, Stopwatch clock)
    {
        if (_throttle.Allow("unavailable", out var held))
            LogReadUnavailable(logger, id, replicas, clock.Elapsed.TotalMilliseconds, held);
    }

    /// <summary>
    /// Asks every other member for <paramref name="id"/> and serves the newest version found among their
    /// answers and the replicas' (<paramref name="answers"/>). An acknowledged version is held by Tolerance
    /// members, so while fewer than Tolerance members fail to answer, one of its holders has answered: the
    /// newest version found is at least as new (and "none" means there is none).
    /// </summary>
    private async Task<ReadResult> FallBackAsync(long id, IndexEntry entry, RetrieveReply[] answers, Stopwatch clock)
    {
        LeaderMetrics.ReadFellBack();
        var others = registry.All.Where(m => !entry.Replicas.Contains(m)).ToArray();
        var deadline = Max(Remaining(clock), options.ReadAttemptTimeout);
        var replies = await Task.WhenAll(others.Select(m => AttemptAsync(m, id, indexed: null, deadline, CancellationToken.None)));
        if (replies.Count(r => r.Outcome is Outcome.Refused or Outcome.TimedOut) >= options.Tolerance)
        {
            ReadUnavailable(id, entry.Replicas.Length, clock);
            return ReadResult.Unavailable;
        }

        // A copy at or below the id's last deletion is one the deletion's tombstones did not reach (the member was
        // away): never served, even when the indexed version is a SET that died with a leader before its copies.
        var deletedAt = index.DeletedAt(id);
        var newest = answers.Concat(replies.Select(r => r.Reply).OfType<RetrieveReply>()).Where(r => r.Found && r.Version > deletedAt).MaxBy(r => r.Version);
        if (_throttle.Allow("fell-back", out var heldBack))
            LogFellBack(logger, id, entry.Version, newest?.Version ?? 0, heldBack);
        return newest is null ? ReadResult.NotFound : new ReadResult(ReadStatus.Found, newest.Payload, newest.Version);
    }

    /// <summary>The member's fetcher; the lookup allocates nothing once it exists (reads take this path every time).</summary>
    private ReplicaFetcher FetcherFor(MemberNode member) =>
        (_fetchers.TryGetValue(member, out var fetcher)
            ? fetcher
            : _fetchers.GetOrAdd(member, m => new Lazy<ReplicaFetcher>(() => new ReplicaFetcher(m, options, logger)))).Value;

    /// <summary>
    /// One read of <paramref name="id"/> on one member. With <paramref name="indexed"/> (a replica of the indexed
    /// version) an older answer counts as <see cref="Outcome.Answered"/> and is logged as stale.
    /// </summary>
    private async Task<Attempt> AttemptAsync(MemberNode member, long id, long? indexed, TimeSpan timeout, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var reply = await FetcherFor(member).FetchAsync(id).WaitAsync(timeout, cancellation);
            var holds = indexed is not { } version || (reply.Found && reply.Version >= version);
            LeaderMetrics.ReplicaCall(member.MetricName, "retrieve", holds ? "ok" : "stale", started);
            if (!holds && _throttle.Allow("stale:" + member.Address, out var held))
                LogStaleReplica(logger, id, member.Address, reply.Found ? reply.Version : 0, indexed.GetValueOrDefault(), held);
            return new Attempt(holds && indexed is not null ? Outcome.Holds : Outcome.Answered, reply);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return new Attempt(Outcome.TimedOut, null); // no longer needed: another replica answered
        }
        catch (Exception failure) when (failure is RpcException or TimeoutException)
        {
            var e = failure as RpcException ?? new RpcException(new Status(StatusCode.DeadlineExceeded, $"no answer within {timeout.TotalMilliseconds:0} ms"));
            LeaderMetrics.ReplicaCall(member.MetricName, "retrieve", "error", started);
            if (_throttle.Allow($"retrieve:{member.Address}:{e.StatusCode}", out var held))
                LogCallFailed(logger, id, member.Address, e.StatusCode, e.Status.Detail, held);
            registry.CallFailed(member, e.StatusCode, "retrieve", e.Status.Detail);
            // Refused: nothing listens there (or it is not our member), or its copy is damaged (DataLoss); a later
            // round would not fare better.
            return new Attempt(e.StatusCode is StatusCode.Unavailable or StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.DataLoss
                ? Outcome.Refused
                : Outcome.TimedOut, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var fetcher in _fetchers.Values.Where(f => f.IsValueCreated))
            await fetcher.Value.DisposeAsync();
    }

    /// <summary>What is left of the GET's ReadTimeout, never negative: delays and waits given it must not be.</summary>
    private TimeSpan Remaining(Stopwatch clock) => Max(options.ReadTimeout - clock.Elapsed, TimeSpan.Zero);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "retrieve id={Id} on {Member} failed: {Status} {Detail} ({Held} more held back)")]
    private static partial void LogCallFailed(ILogger logger, long id, string member, StatusCode status, string detail, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Member} has version {HeldVersion} of id={Id}, index has {Indexed}; trying the next ({Held} more held back)")]
    private static partial void LogStaleReplica(ILogger logger, long id, string member, long heldVersion, long indexed, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GET id={Id}: no replica holds indexed version {Indexed} (a SET that was never acknowledged); served version {Served} from a full read (0 = none) ({Held} more held back)")]
    private static partial void LogFellBack(ILogger logger, long id, long indexed, long served, long held);

    [LoggerMessage(Level = LogLevel.Error, Message = "No replica of id={Id} answered ({Replicas} indexed) within {Milliseconds:0} ms ({Held} more held back)")]
    private static partial void LogReadUnavailable(ILogger logger, long id, int replicas, double milliseconds, long held);
}
