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
