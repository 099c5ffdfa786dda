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
/// its batches (their SETs substitute) and the next batch opens a new one.
/// </summary>
internal sealed partial class ReplicaWriter : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly MemberNode _member;
    private readonly MemberRegistry _registry;
    private readonly LeaderOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    private BatchStream<StoreBatch, StoreBatchReply, Batch>? _stream;
    private long _sequence;

    public ReplicaWriter(MemberNode member, MemberRegistry registry, LeaderOptions options, ILogger logger)
    {
        _member = member;
        _registry = registry;
        _options = options;
        _logger = logger;
        _slots = new SemaphoreSlim(options.BatchesInFlight);
        // The loop serves every SET to come: it must not inherit the trace of the SET that created it.
        using (ExecutionContext.SuppressFlow())
            _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>
    /// Stores one copy on this member; true when the member acknowledged it durably. <paramref name="trace"/>
    /// is the span of this copy, so the batch that carries it can be traced back to its SET.
    /// </summary>
    public Task<bool> StoreAsync(Copy copy, ActivityContext trace = default)
    {
        var pending = new Pending(copy, trace);
        return _queue.Writer.TryWrite(pending) ? pending.Done.Task : Task.FromResult(false);
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

            // Only the write is awaited (writes on a stream are sequential); the reply completes the batch.
            await SendAsync(items);
        }
    }

    private async Task SendAsync(List<Pending> items)
    {
        // One batch carries many SETs: its span continues the trace of the first and links the others, and
        // travels in the message, so each SET's trace leads to the batch and the member's spans under it.
        var activity = LeaderTelemetry.Source.HasListeners() ? StartBatchActivity(items) : null;
        var batch = new Batch(items, Stopwatch.GetTimestamp(), activity);
        var request = new StoreBatch { Sequence = Interlocked.Increment(ref _sequence), Traceparent = activity?.Id ?? "" };
        foreach (var p in items)
            request.Items.Add(p.Copy);

        BatchStream<StoreBatch, StoreBatchReply, Batch> stream;
        try
        {
            stream = CurrentStream();
            batch.Timeout = new Timer(static s => ((Action)s!)(), (Action)(() => Expire(stream, request.Sequence)), _options.StoreTimeout, Timeout.InfiniteTimeSpan);
            stream.Track(request.Sequence, batch);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or ObjectDisposedException)
        {
            Complete(batch, "error", held: null); // no stream could be opened, or it broke just now
            return;
        }

        try
        {
            await stream.Call.RequestStream.WriteAsync(request);
        }
        catch (Exception e)
        {
            Break(stream, e); // answers this batch too: it is tracked
        }
    }

    /// <summary>
    /// Opens the stream now, so the TLS handshake and the HTTP/2 connection are done before the first copy
    /// waits on them. A stream that cannot be opened is opened again by the first batch.
    /// </summary>
    public void Connect()
    {
        try
        {
            CurrentStream();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The open stream to this member, or a new one (after a failure, or when the member's connection changed).</summary>
    private BatchStream<StoreBatch, StoreBatchReply, Batch> CurrentStream()
    {
        lock (_lock)
        {
            var client = _member.Client;
            if (_stream is { Broken: false } open && ReferenceEquals(open.Client, client))
                return open;
            var stream = new BatchStream<StoreBatch, StoreBatchReply, Batch>(client, client.StoreStream());
            _stream = stream;
            using (ExecutionContext.SuppressFlow())
                _ = Task.Run(() => ReadRepliesAsync(stream));
            return stream;
        }
    }

    private async Task ReadRepliesAsync(BatchStream<StoreBatch, StoreBatchReply, Batch> stream)
    {
        try
        {
            await foreach (var reply in stream.Call.ResponseStream.ReadAllAsync())
            {
                if (stream.Take(reply.Sequence) is not { } batch)
                    continue; // already expired
                if (reply.Failed)
                {
                    // The member is up but its log refused the writes (a full disk, say): the copies move to other
                    // members, and new ones skip it for a while instead of failing there first.
                    _member.PauseWrites(_options.StoreFailurePause);
                    if (_throttle.Allow("refused", out var held))
                        LogBatchRefused(_logger, _member.Address, batch.Items.Count, reply.Error, _options.StoreFailurePause.TotalMilliseconds, held);
                    Complete(batch, "error", held: null);
                    continue;
                }

                _member.ReportLoad(reply.Load);
                Complete(batch, "ok", reply.HeldVersions);
            }

            Break(stream, new RpcException(new Status(StatusCode.Unavailable, "the member ended the store stream")));
        }
        catch (Exception e)
        {
            Break(stream, e);
        }
    }

    /// <summary>A batch without its reply by the store timeout: the member is stuck or gone, so the stream is dropped.</summary>
    private void Expire(BatchStream<StoreBatch, StoreBatchReply, Batch> stream, long sequence)
    {
        if (stream.Contains(sequence))
            Break(stream, new RpcException(new Status(StatusCode.DeadlineExceeded, $"no reply within {_options.StoreTimeout.TotalMilliseconds:0} ms")));
    }

    /// <summary>Fails every batch still waiting on <paramref name="stream"/> (their SETs substitute) and drops the stream.</summary>
    private void Break(BatchStream<StoreBatch, StoreBatchReply, Batch> stream, Exception e)
    {
        var waiting = stream.BreakAndTakeAll();
        if (waiting is null)
            return; // broken before
        lock (_lock)
        {
            if (ReferenceEquals(_stream, stream))
                _stream = null;
        }

        var status = e is RpcException r ? r.StatusCode : StatusCode.Internal;
        var detail = e is RpcException rpc ? rpc.Status.Detail : e.Message;
        if (waiting.Count > 0 || status != StatusCode.Cancelled)
            LogStreamFailed(_logger, waiting.Count, _member.Address, status, detail);
        _registry.CallFailed(_member, status, "store", detail);
        foreach (var batch in waiting)
            Complete(batch, "error", held: null);
        stream.Call.Dispose();
    }

    /// <summary>
    /// Answers every SET in the batch. <paramref name="held"/>: the version the member holds of each item's id,
    /// in order; a copy counts as stored when that is its version or newer (0: a deletion there refused it).
    /// Null: nothing was stored.
    /// </summary>
    private void Complete(Batch batch, string outcome, IReadOnlyList<long>? held)
    {
        batch.Timeout?.Dispose();
        for (var i = 0; i < batch.Items.Count; i++)
            batch.Items[i].Done.TrySetResult(held is not null && i < held.Count && held[i] >= batch.Items[i].Copy.Version);
        if (outcome != "ok")
            batch.Activity?.SetStatus(ActivityStatusCode.Error);
        batch.Activity?.Dispose();
        LeaderMetrics.ReplicaCall(_member.MetricName, "store_batch", outcome, batch.Started, batch.Items.Count);
        _slots.Release();
    }

    private Activity? StartBatchActivity(List<Pending> items)
    {
        var previous = Activity.Current;
        var activity = LeaderTelemetry.Source.StartActivity(
            ActivityKind.Client, items[0].Trace, [new("tolerex.member", _member.MetricName), new("tolerex.batch.copies", items.Count)],
            [.. items.Skip(1).Where(p => p.Trace != default).Select(p => new ActivityLink(p.Trace))], name: "StoreBatch");
        Activity.Current = previous; // ends when the reply arrives, on another flow
        return activity;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        BatchStream<StoreBatch, StoreBatchReply, Batch>? stream;
        lock (_lock)
            stream = _stream;
        if (stream is not null)
            Break(stream, new RpcException(new Status(StatusCode.Cancelled, "leader shutting down")));
    }

    private sealed class Pending(Copy copy, ActivityContext trace)
    {
        public Copy Copy { get; } = copy;
        public ActivityContext Trace { get; } = trace;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Batch(List<Pending> items, long started, Activity? activity)
    {
        public List<Pending> Items { get; } = items;
        public long Started { get; } = started;
        public Activity? Activity { get; } = activity;
        public Timer? Timeout { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Member} could not store {Count} copies: {Error}; they move to other members, and no new copies go there for {PauseMs} ms ({Held} more held back)")]
    private static partial void LogBatchRefused(ILogger logger, string member, int count, string error, double pauseMs, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store stream to {Member} failed with {Count} batches waiting: {Status} {Detail}")]
    private static partial void LogStreamFailed(ILogger logger, int count, string member, StatusCode status, string detail);
}
