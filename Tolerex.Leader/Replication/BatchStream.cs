using Grpc.Core;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// One long-lived batch stream to a member (copies for <see cref="ReplicaWriter"/>, reads for
/// <see cref="ReplicaFetcher"/>) and the batches waiting on it for their replies, by sequence number.
/// </summary>
internal sealed class BatchStream<TRequest, TReply, TBatch>(Copies.CopiesClient client, AsyncDuplexStreamingCall<TRequest, TReply> call)
    where TBatch : class
{
    private readonly Dictionary<long, TBatch> _waiting = [];

    /// <summary>The member connection the stream runs on: a member that reconnected needs a new stream.</summary>
    public Copies.CopiesClient Client { get; } = client;
    public AsyncDuplexStreamingCall<TRequest, TReply> Call { get; } = call;
    public bool Broken { get; private set; }

    public void Track(long sequence, TBatch batch)
    {
        lock (_waiting)
        {
            if (Broken)
                throw new RpcException(new Status(StatusCode.Unavailable, "batch stream broken"));
            _waiting[sequence] = batch;
        }
    }

    public bool Contains(long sequence)
    {
        lock (_waiting)
            return _waiting.ContainsKey(sequence);
    }

    public TBatch? Take(long sequence)
    {
        lock (_waiting)
            return _waiting.Remove(sequence, out var batch) ? batch : null;
    }

    /// <summary>Marks the stream broken and hands over what was waiting; null if it was broken already.</summary>
    public List<TBatch>? BreakAndTakeAll()
    {
        lock (_waiting)
        {
            if (Broken)
                return null;
            Broken = true;
            var all = _waiting.Values.ToList();
            _waiting.Clear();
            return all;
        }
    }
}
