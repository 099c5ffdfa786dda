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
        // Not cancelled by the caller's deadline once queued: a copy that reaches the log stays durable.
        var held = await store.StoreAsync(request.Id, request.Version, request.Payload.Memory, CancellationToken.None);
        return new StoreReply { HeldVersion = held, Load = LoadOf(store.Stats) };
    }

    public override async Task<StoreBatchReply> StoreBatch(StoreBatchRequest request, ServerCallContext context)
    {
        // Queue every item before awaiting any, so the whole batch lands in one group commit.
        var pending = new Task<long>[request.Items.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            var item = request.Items[i];
            pending[i] = store.StoreAsync(item.Id, item.Version, item.Payload.Memory, CancellationToken.None).AsTask();
        }

        var reply = new StoreBatchReply();
        foreach (var held in pending)
            reply.HeldVersions.Add(await held);
        reply.Load = LoadOf(store.Stats);
        return reply;
    }

    public override async Task<RetrieveReply> Retrieve(RetrieveRequest request, ServerCallContext context)
    {
        var message = await store.ReadAsync(request.Id, context.CancellationToken);
        return message is { } m
            ? new RetrieveReply { Found = true, Version = m.Version, Payload = UnsafeByteOperations.UnsafeWrap(m.Payload) }
            : new RetrieveReply { Found = false };
    }

    public override async Task<DeleteReply> Delete(DeleteRequest request, ServerCallContext context)
    {
        var deleted = await store.DeleteAsync(request.Id, request.Version, CancellationToken.None);
        return new DeleteReply { Deleted = deleted, Load = LoadOf(store.Stats) };
    }

    public static MemberLoad LoadOf(StoreStats stats) =>
        new() { MessagesHeld = stats.MessagesHeld, BytesHeld = stats.BytesHeld, MaxVersion = stats.MaxVersion };
}
