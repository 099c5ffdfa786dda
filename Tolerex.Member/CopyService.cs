using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Tolerex.Member.Store;
using Tolerex.Protocol.V1;

namespace Tolerex.Member;

/// <summary>The member's gRPC surface: stores and serves copies for the leader.</summary>
internal sealed class CopyService(MessageStore store) : Copies.CopiesBase
{
    /// <summary>
    /// Batches on one long-lived stream: each is queued into the log as soon as it arrives (so batches that
    /// arrive during an fsync share the next one), and answered in arrival order once durable.
    /// </summary>
    public override async Task StoreStream(IAsyncStreamReader<StoreBatch> requestStream, IServerStreamWriter<StoreBatchReply> responseStream,
        ServerCallContext context)
    {
        var queued = Channel.CreateUnbounded<QueuedBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var answering = AnswerAsync(queued.Reader, responseStream);
        try
        {
            await foreach (var batch in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var started = Stopwatch.GetTimestamp();
                var activity = StartBatchActivity(batch);
                queued.Writer.TryWrite(new QueuedBatch(batch.Sequence, Queue(batch), started, activity));
            }
        }
        finally
        {
            queued.Writer.TryComplete();
            await answering;
        }
    }

    private async Task AnswerAsync(ChannelReader<QueuedBatch> queued, IServerStreamWriter<StoreBatchReply> responseStream)
    {
        var broken = false;
        await foreach (var batch in queued.ReadAllAsync())
        {
            using var activity = batch.Activity;
            var reply = new StoreBatchReply { Sequence = batch.Sequence };
            try
            {
                foreach (var held in batch.Pending)
                    reply.HeldVersions.Add(await held);
                MemberMetrics.Operation("store", "ok", batch.Started, batch.Pending.Length);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The log refused the group (a disk error): this batch fails, the leader moves its copies to
                // other members, and the stream goes on.
                reply = new StoreBatchReply { Sequence = batch.Sequence, Failed = true, Error = e.Message };
                activity?.SetStatus(ActivityStatusCode.Error, e.Message);
                MemberMetrics.Operation("store", "error", batch.Started, batch.Pending.Length);
            }

            if (broken)
                continue; // the leader has gone: the copies are durable anyway, only the answers are dropped
            reply.Load = LoadOf(store.Stats);
            try
            {
                await responseStream.WriteAsync(reply);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
            {
                broken = true;
            }
        }
    }

    private static Activity? StartBatchActivity(StoreBatch batch)
    {
        if (!MemberTelemetry.Source.HasListeners())
            return null;
        // A stream has no per-batch headers: the leader's span for this batch comes in the message.
        var previous = Activity.Current;
        var activity = ActivityContext.TryParse(batch.Traceparent, null, out var parent)
            ? MemberTelemetry.Source.StartActivity("append and fsync", ActivityKind.Internal, parent)
            : MemberTelemetry.Source.StartActivity("append and fsync");
        activity?.SetTag("tolerex.batch.copies", batch.Items.Count);
        Activity.Current = previous; // the span ends in AnswerAsync; the read loop must not carry it on
        return activity;
    }

    /// <summary>Queues every item of a batch before anything awaits, so the whole batch lands in one group
    /// commit. Not cancelled by the caller once queued: a copy that reaches the log stays durable.</summary>
    private Task<long>[] Queue(StoreBatch batch)
    {
        var pending = new Task<long>[batch.Items.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            var item = batch.Items[i];
            try
            {
                pending[i] = store.StoreAsync(item.Id, item.Version, item.Payload.Memory);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                pending[i] = Task.FromException<long>(e); // the store is closing or its writer stopped
            }
        }

        return pending;
    }

    private sealed record QueuedBatch(long Sequence, Task<long>[] Pending, long Started, Activity? Activity);

    public override async Task<RetrieveReply> Retrieve(RetrieveRequest request, ServerCallContext context)
    {
        return ReplyOf(await Measured(store.ReadAsync(request.Id, context.CancellationToken), "retrieve", Stopwatch.GetTimestamp()));
    }

    /// <summary>
    /// Batches of reads on one long-lived stream: every read of a batch starts when it arrives, and the batch is
    /// answered, in arrival order, once all have. A read that fails is answered with its error, not the batch.
    /// </summary>
    public override async Task RetrieveStream(IAsyncStreamReader<RetrieveBatch> requestStream, IServerStreamWriter<RetrieveBatchReply> responseStream,
        ServerCallContext context)
    {
        await foreach (var batch in requestStream.ReadAllAsync(context.CancellationToken))
        {
            var started = Stopwatch.GetTimestamp();
            var reads = new Task<StoredMessage?>[batch.Ids.Count];
            for (var i = 0; i < reads.Length; i++)
                reads[i] = store.ReadAsync(batch.Ids[i], context.CancellationToken);
            var reply = new RetrieveBatchReply { Sequence = batch.Sequence };
            var failed = 0;
            foreach (var read in reads)
            {
                try
                {
                    reply.Items.Add(ReplyOf(await read));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failed++;
                    reply.Items.Add(new RetrieveReply { Error = e.Message });
                }
            }

            MemberMetrics.Operation("retrieve", "ok", started, reads.Length - failed);
            if (failed > 0)
                MemberMetrics.Operation("retrieve", "error", started, failed);
            await responseStream.WriteAsync(reply, context.CancellationToken);
        }
    }

    private static RetrieveReply ReplyOf(StoredMessage? message) => message is { } m
        ? new RetrieveReply { Found = true, Version = m.Version, Payload = UnsafeByteOperations.UnsafeWrap(m.Payload) }
        : new RetrieveReply { Found = false };

    public override async Task<DeleteReply> Delete(DeleteRequest request, ServerCallContext context)
    {
        var deleted = await Measured(request.Reclaim ? store.ReclaimAsync(request.Id, request.Version) : store.DeleteAsync(request.Id, request.Version),
            "delete", Stopwatch.GetTimestamp());
        return new DeleteReply { Deleted = deleted, Load = LoadOf(store.Stats) };
    }

    public override async Task List(ListRequest request, IServerStreamWriter<CopyList> responseStream, ServerCallContext context)
    {
        var chunk = Math.Clamp(request.Chunk, 1, 100_000);
        var list = new CopyList();
        foreach (var (id, version) in store.Held())
        {
            list.Ids.Add(id);
            list.Versions.Add(version);
            if (list.Ids.Count < chunk)
                continue;
            await responseStream.WriteAsync(list, context.CancellationToken);
            list = new CopyList();
        }

        if (list.Ids.Count > 0)
            await responseStream.WriteAsync(list, context.CancellationToken);
    }

    private static async Task<T> Measured<T>(Task<T> operation, string name, long started)
    {
        try
        {
            var result = await operation;
            MemberMetrics.Operation(name, "ok", started);
            return result;
        }
        catch
        {
            MemberMetrics.Operation(name, "error", started);
            throw;
        }
    }

    public static MemberLoad LoadOf(StoreStats stats) =>
        new() { MessagesHeld = stats.MessagesHeld, BytesHeld = stats.BytesHeld, MaxVersion = stats.MaxVersion };
}
