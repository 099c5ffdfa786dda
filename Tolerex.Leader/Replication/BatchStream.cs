using Grpc.Core;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// One long-lived batch stream to a member (see <see cref="MemberStreamLink{TRequest, TReply, TBatch}"/>) and the
/// batches waiting on it for their replies, by sequence number, each with the timer that gives up on its reply.
/// </summary>
internal sealed class BatchStream<TRequest, TReply, TBatch>(Copies.CopiesClient client, AsyncDuplexStreamingCall<TRequest, TReply> call)
    where TBatch : class
{
    private readonly Dictionary<long, (TBatch Batch, Timer Timeout)> _waiting = [];

    /// <summary>The member connection the stream runs on: a member that reconnected needs a new stream.</summary>
    public Copies.CopiesClient Client { get; } = client;
    public AsyncDuplexStreamingCall<TRequest, TReply> Call { get; } = call;
    public bool Broken { get; private set; }

    /// <summary>Waits for the reply to <paramref name="sequence"/>; <paramref name="expire"/> runs if none came within <paramref name="timeout"/>.</summary>
    public void Track(long sequence, TBatch batch, TimeSpan timeout, Action expire)
    {
        lock (_waiting)
        {
            if (Broken)
                throw new RpcException(new Status(StatusCode.Unavailable, "batch stream broken"));
            _waiting[sequence] = (batch, new Timer(static s => ((Action)s!)(), expire, timeout, Timeout.InfiniteTimeSpan));
        }
    }

    public bool Contains(long sequence)
    {
        lock (_waiting)
            return _waiting.ContainsKey(sequence);
    }

    /// <summary>The batch <paramref name="sequence"/> answers; null when it expired or the stream broke first.</summary>
    public TBatch? Take(long sequence)
    {
        lock (_waiting)
        {
            if (!_waiting.Remove(sequence, out var waiting))
                return null;
            waiting.Timeout.Dispose();
            return waiting.Batch;
        }
    }

    /// <summary>Marks the stream broken and hands over what was waiting; null if it was broken already.</summary>
    public List<TBatch>? BreakAndTakeAll()
    {
        lock (_waiting)
        {
            if (Broken)
                return null;
            Broken = true;
            var all = new List<TBatch>(_waiting.Count);
            foreach (var (batch, timeout) in _waiting.Values)
            {
                timeout.Dispose();
                all.Add(batch);
            }

            _waiting.Clear();
            return all;
        }
    }
}
