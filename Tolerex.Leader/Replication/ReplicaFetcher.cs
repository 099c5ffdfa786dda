using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// Reads copies from one member in batches: concurrent GETs asking the same member share one request on one
/// long-lived RetrieveStream, as copies share the batches of <see cref="ReplicaWriter"/>, which spares each read a
/// whole HTTP/2 call. A broken stream fails the reads waiting on it (their GETs ask the next replica) and the next
/// batch opens a new one; a batch still without its reply after <c>ReadTimeout</c> breaks the stream.
/// </summary>
internal sealed partial class ReplicaFetcher : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly MemberNode _member;
    private readonly LeaderOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private BatchStream<RetrieveBatch, RetrieveBatchReply, Batch>? _stream;
    private long _sequence;

    public ReplicaFetcher(MemberNode member, LeaderOptions options, ILogger logger)
    {
        _member = member;
        _options = options;
        _logger = logger;
        _slots = new SemaphoreSlim(options.BatchesInFlight);
        // The loop serves every GET to come: it must not inherit the trace of the GET that created it.
        using (ExecutionContext.SuppressFlow())
            _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>Reads <paramref name="id"/> on this member; fails with <see cref="RpcException"/> when the member cannot answer it.</summary>
    public Task<RetrieveReply> FetchAsync(long id)
    {
        var pending = new Pending(id);
        return _queue.Writer.TryWrite(pending)
            ? pending.Done.Task
            : Task.FromException<RetrieveReply>(new RpcException(new Status(StatusCode.Cancelled, "leader shutting down")));
    }

    private async Task SendLoopAsync()
    {
        while (await _queue.Reader.WaitToReadAsync())
        {
            await _slots.WaitAsync();
            var items = new List<Pending>();
            while (items.Count < _options.MaxBatchCount && _queue.Reader.TryRead(out var next))
                items.Add(next);
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
        var batch = new Batch(items, Stopwatch.GetTimestamp());
        var request = new RetrieveBatch { Sequence = Interlocked.Increment(ref _sequence) };
        foreach (var p in items)
            request.Ids.Add(p.Id);

        BatchStream<RetrieveBatch, RetrieveBatchReply, Batch> stream;
        try
        {
            stream = CurrentStream();
            batch.Timeout = new Timer(static s => ((Action)s!)(), (Action)(() => Expire(stream, request.Sequence)), _options.ReadTimeout, Timeout.InfiniteTimeSpan);
            stream.Track(request.Sequence, batch);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or ObjectDisposedException)
        {
            // No stream could be opened, or it broke just now.
            Fail(batch, e as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, e.Message)));
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

    /// <summary>The open stream to this member, or a new one (after a failure, or when the member's connection changed).</summary>
    private BatchStream<RetrieveBatch, RetrieveBatchReply, Batch> CurrentStream()
    {
        lock (_lock)
        {
            var client = _member.Client;
            if (_stream is { Broken: false } open && ReferenceEquals(open.Client, client))
                return open;
            var stream = new BatchStream<RetrieveBatch, RetrieveBatchReply, Batch>(client, client.RetrieveStream());
            _stream = stream;
            using (ExecutionContext.SuppressFlow())
                _ = Task.Run(() => ReadRepliesAsync(stream));
            return stream;
        }
    }

    private async Task ReadRepliesAsync(BatchStream<RetrieveBatch, RetrieveBatchReply, Batch> stream)
    {
        try
        {
            await foreach (var reply in stream.Call.ResponseStream.ReadAllAsync())
            {
                if (stream.Take(reply.Sequence) is not { } batch)
                    continue; // already expired
                if (reply.Items.Count != batch.Items.Count)
                {
                    Fail(batch, new RpcException(new Status(StatusCode.Internal, $"{reply.Items.Count} answers to {batch.Items.Count} reads")));
                    continue;
                }

                Complete(batch, reply);
            }

            Break(stream, new RpcException(new Status(StatusCode.Unavailable, "the member ended the read stream")));
        }
        catch (Exception e)
        {
            Break(stream, e);
        }
    }

    /// <summary>A batch without its reply by the read timeout: the member is stuck or gone, so the stream is dropped.</summary>
    private void Expire(BatchStream<RetrieveBatch, RetrieveBatchReply, Batch> stream, long sequence)
    {
        if (stream.Contains(sequence))
            Break(stream, new RpcException(new Status(StatusCode.DeadlineExceeded, $"no reply within {_options.ReadTimeout.TotalMilliseconds:0} ms")));
    }

    /// <summary>Fails every read still waiting on <paramref name="stream"/> (their GETs ask other replicas) and drops the stream.</summary>
    private void Break(BatchStream<RetrieveBatch, RetrieveBatchReply, Batch> stream, Exception e)
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
        var failure = new RpcException(new Status(status, detail));
        foreach (var batch in waiting)
            Fail(batch, failure);
        stream.Call.Dispose();
    }

    /// <summary>Answers every read of the batch: a read the member could not do fails alone (Internal, with its error).</summary>
    private void Complete(Batch batch, RetrieveBatchReply reply)
    {
        batch.Timeout?.Dispose();
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var item = reply.Items[i];
            if (item.Error.Length > 0)
                batch.Items[i].Done.TrySetException(new RpcException(new Status(StatusCode.Internal, item.Error)));
            else
                batch.Items[i].Done.TrySetResult(item);
        }

        LeaderMetrics.ReplicaCall(_member.MetricName, "retrieve_batch", "ok", batch.Started, batch.Items.Count);
        _slots.Release();
    }

    private void Fail(Batch batch, RpcException failure)
    {
        batch.Timeout?.Dispose();
        foreach (var item in batch.Items)
            item.Done.TrySetException(failure);
        LeaderMetrics.ReplicaCall(_member.MetricName, "retrieve_batch", "error", batch.Started, batch.Items.Count);
        _slots.Release();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        BatchStream<RetrieveBatch, RetrieveBatchReply, Batch>? stream;
        lock (_lock)
            stream = _stream;
        if (stream is not null)
            Break(stream, new RpcException(new Status(StatusCode.Cancelled, "leader shutting down")));
    }

    private sealed class Pending(long id)
    {
        public long Id { get; } = id;
        public TaskCompletionSource<RetrieveReply> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Batch(List<Pending> items, long started)
    {
        public List<Pending> Items { get; } = items;
        public long Started { get; } = started;
        public Timer? Timeout { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read stream to {Member} failed with {Count} batches waiting: {Status} {Detail}")]
    private static partial void LogStreamFailed(ILogger logger, int count, string member, StatusCode status, string detail);
}
