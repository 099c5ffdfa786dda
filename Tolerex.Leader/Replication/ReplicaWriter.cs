using System.Diagnostics;
using Tolerex.Leader.Telemetry;
using System.Threading.Channels;
using Grpc.Core;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Replication;

/// <summary>
/// Sends one member its copies in batches: concurrent SETs bound for the same member share one StoreBatch
/// call (and one fsync there), the way Kafka producers batch records per partition. Batches grow by
/// themselves under load: while the allowed batches are in flight, new copies queue up for the next one.
/// </summary>
internal sealed partial class ReplicaWriter : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly Member _member;
    private readonly MemberRegistry _registry;
    private readonly LeaderOptions _options;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public ReplicaWriter(Member member, MemberRegistry registry, LeaderOptions options, ILogger logger)
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
    /// is the span of this copy, so the batch call that carries it can be traced back to its SET.
    /// </summary>
    public Task<bool> StoreAsync(StoreRequest request, ActivityContext trace = default)
    {
        var pending = new Pending(request, trace);
        return _queue.Writer.TryWrite(pending) ? pending.Done.Task : Task.FromResult(false);
    }

    private async Task SendLoopAsync()
    {
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            var batch = new List<Pending>();
            long bytes = 0;
            while (batch.Count < _options.MaxBatchCount && _queue.Reader.TryPeek(out var next)
                   && (batch.Count == 0 || bytes + next.Request.Payload.Length <= _options.MaxBatchBytes)
                   && _queue.Reader.TryRead(out next))
            {
                batch.Add(next);
                bytes += next.Request.Payload.Length;
            }

            if (batch.Count == 0)
            {
                _slots.Release();
                continue;
            }

            _ = SendAsync(batch);
        }
    }

    private async Task SendAsync(List<Pending> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        // One call carries many SETs: it continues the trace of the first and links the others, so each
        // SET's trace leads to the call (and the member's spans under it).
        using var activity = LeaderTelemetry.Source.HasListeners() ? StartBatchActivity(batch) : null;
        try
        {
            var request = new StoreBatchRequest();
            foreach (var p in batch)
                request.Items.Add(p.Request);
            var reply = await _member.Client.StoreBatchAsync(request, deadline: DateTime.UtcNow + _options.StoreTimeout).ConfigureAwait(false);
            _member.ReportLoad(reply.Load);
            for (var i = 0; i < batch.Count; i++)
                batch[i].Done.TrySetResult(i < reply.HeldVersions.Count);
            outcome = "ok";
        }
        catch (RpcException e)
        {
            LogBatchFailed(_logger, batch.Count, _member.Address, e.StatusCode, e.Status.Detail);
            // An unreachable member is marked down at once instead of waiting for its heartbeats to time
            // out; its next heartbeat brings it back.
            if (e.StatusCode == StatusCode.Unavailable)
                _registry.MarkDown(_member, $"store failed: {e.Status.Detail}");
            foreach (var p in batch)
                p.Done.TrySetResult(false);
        }
        catch (Exception e)
        {
            // Whatever went wrong, every SET waiting on this batch gets an answer (and may substitute).
            LogBatchFailed(_logger, batch.Count, _member.Address, StatusCode.Internal, e.Message);
            foreach (var p in batch)
                p.Done.TrySetResult(false);
        }
        finally
        {
            LeaderMetrics.ReplicaCall(_member.MetricName, "store_batch", outcome, started, batch.Count);
            _slots.Release();
        }
    }

    private Activity? StartBatchActivity(List<Pending> batch) => LeaderTelemetry.Source.StartActivity(
        ActivityKind.Client, batch[0].Trace, [new("tolerex.member", _member.MetricName), new("tolerex.batch.copies", batch.Count)],
        [.. batch.Skip(1).Where(p => p.Trace != default).Select(p => new ActivityLink(p.Trace))], name: "StoreBatch");

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private sealed class Pending(StoreRequest request, ActivityContext trace)
    {
        public StoreRequest Request { get; } = request;
        public ActivityContext Trace { get; } = trace;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store batch of {Count} on {Member} failed: {Status} {Detail}")]
    private static partial void LogBatchFailed(ILogger logger, int count, string member, StatusCode status, string detail);
}
