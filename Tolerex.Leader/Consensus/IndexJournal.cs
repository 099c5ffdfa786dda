using System.Diagnostics;
using System.Threading.Channels;
using DotNext.Net.Cluster.Consensus.Raft;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Telemetry;
using Tolerex.ServiceDefaults.Logging;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// Makes index records durable through the consensus log, with group commit: every record queued while entries
/// are being replicated goes into the next entry, so one replication round (and one flush per node) serves them
/// all. Up to <c>entriesInFlight</c> entries are in flight at once: the log appends them in the order they are
/// handed over and flushes every entry appended meanwhile together, so while one entry waits for its flush the
/// next is already in the log. Records whose callers wait for one another are in order regardless: a caller
/// queues its next record only once the previous one committed. A record is durable, and reaches memory, once
/// its entry is committed (see <see cref="IndexStateMachine"/>).
/// </summary>
internal sealed partial class IndexJournal(IRaftCluster cluster, int entriesInFlight, ILogger<IndexJournal> logger) : IAsyncDisposable
{
    /// <summary>Records per entry at most, so one entry stays a few hundred kilobytes however long the queue.</summary>
    private const int MaxRecordsPerEntry = 4096;

    private readonly Channel<JournalAppend> _queue = Channel.CreateUnbounded<JournalAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();
    private readonly SemaphoreSlim _slots = new(entriesInFlight);
    private Task _writer = Task.CompletedTask;

    public IndexJournal(IRaftCluster cluster, IOptions<LeaderOptions> options, ILogger<IndexJournal> logger)
        : this(cluster, options.Value.IndexEntriesInFlight, logger)
    {
    }

    /// <summary>Starts committing queued records (once the log has been replayed).</summary>
    public void Start() => _writer = Task.Run(WriteAsync);

    /// <summary>Queues <paramref name="record"/>; see <see cref="JournalAppend"/>.</summary>
    public JournalAppend Append(LogRecord record, bool apply, MemberNode[]? replicas = null)
    {
        var append = new JournalAppend(record, apply, replicas);
        if (!_queue.Writer.TryWrite(append))
            append.Failed(new IOException("the leader is stopping"));
        return append;
    }

    private async Task WriteAsync()
    {
        var appends = new List<JournalAppend>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stopping.Token))
            {
                // Records gather in the queue while every slot is taken: the next entry carries all of them.
                await _slots.WaitAsync(_stopping.Token);
                while (appends.Count < MaxRecordsPerEntry && _queue.Reader.TryRead(out var append))
                    appends.Add(append);
                var batch = new JournalBatch([.. appends]);
                appends.Clear();
                _ = CommitAsync(batch);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }

        // Entries in flight finish (or fail) before the queue's leftovers are failed.
        for (var i = 0; i < entriesInFlight; i++)
            await _slots.WaitAsync();

        var stopped = new IOException("the leader is stopping");
        while (_queue.Reader.TryRead(out var append))
            append.Failed(stopped);
    }

    private async Task CommitAsync(JournalBatch batch)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Returns once the entry is committed and applied here; applying it completed every record.
            await cluster.ReplicateAsync(JournalEntryFormat.Encode(batch.Appends), batch, _stopping.Token);
            LeaderMetrics.IndexCommitted(batch.Appends.Length, committed: true, started);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // Not committed as far as this node knows (it lost leadership, say). A later leader may still commit
            // the entry; its records are idempotent, and the SETs it carried were not acknowledged.
            if (_throttle.Allow(nameof(LogNotCommitted), out var held))
                LogNotCommitted(logger, batch.Appends.Length, held, e);
            LeaderMetrics.IndexCommitted(batch.Appends.Length, committed: false, started);
            var failure = new IOException($"index entry not committed: {e.Message}", e);
            foreach (var append in batch.Appends)
                append.Failed(failure);
        }
        finally
        {
            _slots.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Records already queued get their chance to commit; a log that cannot commit them does not hold up the stop.
        _queue.Writer.TryComplete();
        if (await Task.WhenAny(_writer, Task.Delay(TimeSpan.FromSeconds(5))) != _writer)
            await _stopping.CancelAsync();
        await _writer;
        _stopping.Dispose();
        _slots.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "An index entry of {Records} records was not committed ({Held} more like it since the last line)")]
    private static partial void LogNotCommitted(ILogger logger, int records, long held, Exception exception);
}
