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
internal sealed class ReplicaFetcher : MemberStreamLink<RetrieveBatch, RetrieveBatchReply, ReplicaFetcher.Batch>, IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly LeaderOptions _options;
    private readonly Task _loop;

    public ReplicaFetcher(MemberNode member, LeaderOptions options, ILogger logger)
        : base(member, "Read", options.ReadTimeout, logger)
    {
        _options = options;
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

            var request = new RetrieveBatch { Sequence = NextSequence() };
            foreach (var p in items)
                request.Ids.Add(p.Id);
            await SendAsync(request.Sequence, request, new Batch(items, Stopwatch.GetTimestamp()));
        }
    }

    protected override AsyncDuplexStreamingCall<RetrieveBatch, RetrieveBatchReply> Open(Copies.CopiesClient client) => client.RetrieveStream();

    protected override long SequenceOf(RetrieveBatchReply reply) => reply.Sequence;

    /// <summary>Answers every read of the batch: a read the member could not do (a damaged record) fails alone, with DataLoss and its error.</summary>
    protected override void Complete(Batch batch, RetrieveBatchReply reply)
    {
        if (reply.Items.Count != batch.Items.Count)
        {
            Fail(batch, new RpcException(new Status(StatusCode.Internal, $"{reply.Items.Count} answers to {batch.Items.Count} reads")));
            return;
        }

        for (var i = 0; i < batch.Items.Count; i++)
        {
            var item = reply.Items[i];
            if (item.Error.Length > 0)
                batch.Items[i].Done.TrySetException(new RpcException(new Status(StatusCode.DataLoss, item.Error)));
            else
                batch.Items[i].Done.TrySetResult(item);
        }

        LeaderMetrics.ReplicaCall(Member.MetricName, "retrieve_batch", "ok", batch.Started, batch.Items.Count);
        _slots.Release();
    }

    protected override void Fail(Batch batch, RpcException failure)
    {
        foreach (var item in batch.Items)
            item.Done.TrySetException(failure);
        LeaderMetrics.ReplicaCall(Member.MetricName, "retrieve_batch", "error", batch.Started, batch.Items.Count);
        _slots.Release();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        Close();
    }

    internal sealed class Pending(long id)
    {
        public long Id { get; } = id;
        public TaskCompletionSource<RetrieveReply> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal sealed class Batch(List<Pending> items, long started)
    {
        public List<Pending> Items { get; } = items;
        public long Started { get; } = started;
    }
}
