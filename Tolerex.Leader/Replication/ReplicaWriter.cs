using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Replication;

/// <summary>
/// Sends one member its copies in batches: concurrent SETs bound for the same member share one batch (and
/// one fsync there), the way Kafka producers batch records per partition. Batches grow by themselves under
/// load: while the allowed batches are in flight, new copies queue up for the next one. Batches travel on
/// one long-lived StoreStream per member, which spares each batch a whole HTTP/2 call; a broken stream fails
/// its batches (their SETs substitute) and the next batch opens a new one; a batch without its reply within
/// <c>StoreTimeout</c> breaks the stream.
/// </summary>
internal sealed partial class ReplicaWriter : MemberStreamLink<StoreBatch, StoreBatchReply, ReplicaWriter.Batch>, IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly MemberRegistry _registry;
    private readonly LeaderOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();

    public ReplicaWriter(MemberNode member, MemberRegistry registry, LeaderOptions options, ILogger logger)
        : base(member, "Store", options.StoreTimeout, logger)
    {
        _registry = registry;
        _options = options;
        _logger = logger;
        _slots = new SemaphoreSlim(options.BatchesInFlight);
        // The loop serves every SET to come: it must not inherit the trace of the SET that created it.
        using (ExecutionContext.SuppressFlow())
            _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>
    /// Stores one copy on this member and reports to its <see cref="CopyOutcomes"/> whether the member acknowledged
    /// it durably. The copy's span, if traced, lets the batch that carries it be traced back to its SET.
    /// </summary>
    public void Store(Pending copy)
    {
        if (!_queue.Writer.TryWrite(copy))
            copy.Outcomes.Report(Member, stored: false, copy.Span);
    }

    private async Task SendLoopAsync()
    {
        while (await _queue.Reader.WaitToReadAsync())
        {
            await _slots.WaitAsync();
            var items = new List<Pending>();
            long bytes = 0;
            while (items.Count < _options.MaxBatchCount && _queue.Reader.TryPeek(out var next)
                   && (items.Count == 0 || bytes + next.Copy.Payload.Length <= _options.MaxBatchBytes)
                   && _queue.Reader.TryRead(out next))
            {
                items.Add(next);
                bytes += next.Copy.Payload.Length;
            }

            if (items.Count == 0)
            {
                _slots.Release();
                continue;
            }

            // One batch carries many SETs: its span continues the trace of the first and links the others, and
            // travels in the message, so each SET's trace leads to the batch and the member's spans under it.
            var activity = LeaderTelemetry.Source.HasListeners() ? StartBatchActivity(items) : null;
            var request = new StoreBatch { Sequence = NextSequence(), Traceparent = activity?.Id ?? "" };
            foreach (var p in items)
                request.Items.Add(p.Copy);
            await SendAsync(request.Sequence, request, new Batch(items, Stopwatch.GetTimestamp(), activity));
        }
    }

    protected override AsyncDuplexStreamingCall<StoreBatch, StoreBatchReply> Open(Copies.CopiesClient client) => client.StoreStream();

    protected override long SequenceOf(StoreBatchReply reply) => reply.Sequence;

    protected override void Complete(Batch batch, StoreBatchReply reply)
    {
        if (reply.Failed)
        {
            // The member is up but its log refused the writes (a full disk, say): the copies move to other
            // members, and new ones skip it for a while instead of failing there first.
            Member.PauseWrites(_options.StoreFailurePause);
            if (_throttle.Allow("refused", out var held))
                LogBatchRefused(_logger, Member.Address, batch.Items.Count, reply.Error, _options.StoreFailurePause.TotalMilliseconds, held);
            Answer(batch, "error", held: null);
            return;
        }

        Member.ReportLoad(reply.Load);
        Answer(batch, "ok", reply.HeldVersions);
    }

    protected override void Fail(Batch batch, RpcException failure) => Answer(batch, "error", held: null);

    protected override void Broke(StatusCode status, string detail) => _registry.CallFailed(Member, status, "store", detail);

    /// <summary>
    /// Answers every SET in the batch. <paramref name="held"/>: the version the member holds of each item's id,
    /// in order; a copy counts as stored when that is its version or newer (0: a deletion there refused it).
    /// Null: nothing was stored.
    /// </summary>
    private void Answer(Batch batch, string outcome, IReadOnlyList<long>? held)
    {
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var item = batch.Items[i];
            item.Outcomes.Report(Member, held is not null && i < held.Count && held[i] >= item.Copy.Version, item.Span);
        }

        if (outcome != "ok")
            batch.Activity?.SetStatus(ActivityStatusCode.Error);
        batch.Activity?.Dispose();
        LeaderMetrics.ReplicaCall(Member.MetricName, "store_batch", outcome, batch.Started, batch.Items.Count);
        _slots.Release();
    }

    private Activity? StartBatchActivity(List<Pending> items)
    {
        var previous = Activity.Current;
        var activity = LeaderTelemetry.Source.StartActivity(
            ActivityKind.Client, items[0].Trace, [new("tolerex.member", Member.MetricName), new("tolerex.batch.copies", items.Count)],
            [.. items.Skip(1).Where(p => p.Trace != default).Select(p => new ActivityLink(p.Trace))], name: "StoreBatch");
        Activity.Current = previous; // ends when the reply arrives, on another flow
        return activity;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        Close();
    }

    /// <summary>One copy bound for this member, reported to <paramref name="outcomes"/> once; <paramref name="span"/> is its span, if traced.</summary>
    internal sealed class Pending(Copy copy, CopyOutcomes outcomes, Activity? span)
    {
        public Copy Copy { get; } = copy;
        public CopyOutcomes Outcomes { get; } = outcomes;
        public Activity? Span { get; } = span;
        public ActivityContext Trace => Span?.Context ?? default;
    }

    internal sealed class Batch(List<Pending> items, long started, Activity? activity)
    {
        public List<Pending> Items { get; } = items;
        public long Started { get; } = started;
        public Activity? Activity { get; } = activity;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Member} could not store {Count} copies: {Error}; they move to other members, and no new copies go there for {PauseMs} ms ({Held} more held back)")]
    private static partial void LogBatchRefused(ILogger logger, string member, int count, string error, double pauseMs, long held);
}
