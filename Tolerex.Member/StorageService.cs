using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Tolerex.Member.Storage;
using Tolerex.Protocol.V1;

namespace Tolerex.Member;

/// <summary>The member's gRPC surface: stores and serves copies for the leader.</summary>
internal sealed class StorageService(IMessageStore store) : Protocol.V1.Storage.StorageBase
{
    public override async Task<StoreReply> Store(StoreRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // Not cancelled by the caller's deadline once queued: a copy that reaches the log stays durable.
        var held = await Measured(store.StoreAsync(request.Id, request.Version, request.Payload.Memory, CancellationToken.None).AsTask(), "store", started);
        return new StoreReply { HeldVersion = held, Load = LoadOf(store.Stats) };
    }

    public override async Task<StoreBatchReply> StoreBatch(StoreBatchRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // A child of the gRPC server span (and so of the leader's StoreBatch call, through traceparent).
        using var activity = MemberTelemetry.Source.StartActivity("append and fsync");
        activity?.SetTag("tolerex.batch.copies", request.Items.Count);
        // Queue every item before awaiting any, so the whole batch lands in one group commit.
        var pending = new Task<long>[request.Items.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            var item = request.Items[i];
            pending[i] = store.StoreAsync(item.Id, item.Version, item.Payload.Memory, CancellationToken.None).AsTask();
        }

        var reply = new StoreBatchReply();
        try
        {
            foreach (var held in pending)
                reply.HeldVersions.Add(await held);
        }
        catch
        {
            MemberMetrics.Operation("store", "error", started, pending.Length);
            throw;
        }

        MemberMetrics.Operation("store", "ok", started, pending.Length);
        reply.Load = LoadOf(store.Stats);
        return reply;
    }

    public override async Task<RetrieveReply> Retrieve(RetrieveRequest request, ServerCallContext context)
    {
        var message = await Measured(store.ReadAsync(request.Id, context.CancellationToken).AsTask(), "retrieve", Stopwatch.GetTimestamp());
        return message is { } m
            ? new RetrieveReply { Found = true, Version = m.Version, Payload = UnsafeByteOperations.UnsafeWrap(m.Payload) }
            : new RetrieveReply { Found = false };
    }

    public override async Task<DeleteReply> Delete(DeleteRequest request, ServerCallContext context)
    {
        var deleted = await Measured(store.DeleteAsync(request.Id, request.Version, CancellationToken.None).AsTask(), "delete", Stopwatch.GetTimestamp());
        return new DeleteReply { Deleted = deleted, Load = LoadOf(store.Stats) };
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
