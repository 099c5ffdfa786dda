using Grpc.Core;
using Tolerex.Leader.Membership;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// What <see cref="ReplicaWriter"/> and <see cref="ReplicaFetcher"/> share: one long-lived batch stream to a member,
/// opened again after a failure or when the member's connection changed; each batch tracked by sequence number
/// until its reply, and a batch without a reply within <paramref name="replyTimeout"/> breaks the stream (the member
/// is stuck or gone); a broken stream fails every batch waiting on it, and the next batch opens a new one.
/// </summary>
internal abstract partial class MemberStreamLink<TRequest, TReply, TBatch>(MemberNode member, string kind, TimeSpan replyTimeout, ILogger logger)
    where TBatch : class
{
    private readonly Lock _lock = new();
    private BatchStream<TRequest, TReply, TBatch>? _stream;
    private long _sequence;

    protected MemberNode Member => member;

    /// <summary>Starts the stream's call on <paramref name="client"/>.</summary>
    protected abstract AsyncDuplexStreamingCall<TRequest, TReply> Open(Copies.CopiesClient client);

    /// <summary>The sequence number a reply names (the batch to take from <see cref="BatchStream{TRequest, TReply, TBatch}.Take"/>).</summary>
    protected abstract long SequenceOf(TReply reply);

    /// <summary>Answers <paramref name="batch"/> with its <paramref name="reply"/>.</summary>
    protected abstract void Complete(TBatch batch, TReply reply);

    /// <summary>Fails <paramref name="batch"/>: no stream, or the stream broke before its reply.</summary>
    protected abstract void Fail(TBatch batch, RpcException failure);

    /// <summary>The stream broke (after its waiting batches failed).</summary>
    protected virtual void Broke(StatusCode status, string detail)
    {
    }

    protected long NextSequence() => Interlocked.Increment(ref _sequence);

    /// <summary>
    /// Opens the stream now, so the TLS handshake and the HTTP/2 connection are done before the first batch
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

    /// <summary>Sends <paramref name="request"/>; returns once it is written (writes on a stream are sequential), and its reply completes <paramref name="batch"/>.</summary>
    protected async Task SendAsync(long sequence, TRequest request, TBatch batch)
    {
        BatchStream<TRequest, TReply, TBatch> stream;
        try
        {
            stream = CurrentStream();
            stream.Track(sequence, batch, replyTimeout, () => Expire(stream, sequence));
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

    /// <summary>The open stream to the member, or a new one (after a failure, or when the member's connection changed).</summary>
    private BatchStream<TRequest, TReply, TBatch> CurrentStream()
    {
        lock (_lock)
        {
            var client = member.Client;
            if (_stream is { Broken: false } open && ReferenceEquals(open.Client, client))
                return open;
            var stream = new BatchStream<TRequest, TReply, TBatch>(client, Open(client));
            _stream = stream;
            using (ExecutionContext.SuppressFlow())
                _ = Task.Run(() => ReadRepliesAsync(stream));
            return stream;
        }
    }

    private async Task ReadRepliesAsync(BatchStream<TRequest, TReply, TBatch> stream)
    {
        try
        {
            await foreach (var reply in stream.Call.ResponseStream.ReadAllAsync())
            {
                if (stream.Take(SequenceOf(reply)) is { } batch)
                    Complete(batch, reply);
                // else: it expired already
            }

            Break(stream, new RpcException(new Status(StatusCode.Unavailable, $"the member ended the {kind} stream")));
        }
        catch (Exception e)
        {
            Break(stream, e);
        }
    }

    private void Expire(BatchStream<TRequest, TReply, TBatch> stream, long sequence)
    {
        if (stream.Contains(sequence))
            Break(stream, new RpcException(new Status(StatusCode.DeadlineExceeded, $"no reply within {replyTimeout.TotalMilliseconds:0} ms")));
    }

    /// <summary>Fails every batch still waiting on <paramref name="stream"/> and drops the stream.</summary>
    private void Break(BatchStream<TRequest, TReply, TBatch> stream, Exception e)
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
            ReplicationLog.StreamFailed(logger, kind, member.Address, waiting.Count, status, detail);
        Broke(status, detail);
        var failure = new RpcException(new Status(status, detail));
        foreach (var batch in waiting)
            Fail(batch, failure);
        stream.Call.Dispose();
    }

    /// <summary>Breaks the open stream, if any: the leader is stopping.</summary>
    protected void Close()
    {
        BatchStream<TRequest, TReply, TBatch>? stream;
        lock (_lock)
            stream = _stream;
        if (stream is not null)
            Break(stream, new RpcException(new Status(StatusCode.Cancelled, "leader shutting down")));
    }
}

internal static partial class ReplicationLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} stream to {Member} failed with {Count} batches waiting: {Status} {Detail}")]
    public static partial void StreamFailed(ILogger logger, string kind, string member, int count, StatusCode status, string detail);
}
