using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Replication;

/// <summary>
/// The copies of one SET (or one repair) in flight: each member's writer reports here whether its copy is stored,
/// and the SET takes the outcomes in the order they arrive until its deadline. One object per SET, where a task,
/// a completion source and a wait with a timeout per copy used to be: at tens of thousands of SETs a second those
/// were most of what the leader allocated.
/// </summary>
internal sealed class CopyOutcomes : IValueTaskSource<bool>, IDisposable
{
    // Deadline timers are reused: a reset source keeps its timer, so a SET's deadline allocates nothing.
    private const int PooledTimers = 4096;
    private static readonly ConcurrentQueue<CancellationTokenSource> Timers = new();

    private readonly Lock _lock = new();
    private readonly List<(MemberNode Member, bool Stored)> _arrived = new(2);
    private readonly CancellationTokenSource? _timer;
    private readonly CancellationTokenRegistration _expiry;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };
    private int _read;
    private int _outstanding;
    private bool _waiting;
    private bool _expired;

    /// <param name="left">Time until the deadline, after which <see cref="NextAsync"/> answers false; null: none.</param>
    public CopyOutcomes(TimeSpan? left)
    {
        if (left is not { } time)
            return;
        _timer = Timers.TryDequeue(out var reused) ? reused : new CancellationTokenSource();
        _expiry = _timer.Token.UnsafeRegister(static state => ((CopyOutcomes)state!).Expire(), this);
        _timer.CancelAfter(time > TimeSpan.Zero ? time : TimeSpan.Zero);
    }

    /// <summary>A copy is on its way to a member; it is reported exactly once.</summary>
    public void Sent()
    {
        lock (_lock)
            _outstanding++;
    }

    /// <summary>
    /// The outcome of a copy on <paramref name="member"/>: its placement there ends, its span (if traced) ends, and
    /// the SET may take it. A copy reported after the SET gave up is ignored.
    /// </summary>
    public void Report(MemberNode member, bool stored, Activity? span)
    {
        if (span is not null)
        {
            if (!stored)
                span.SetStatus(ActivityStatusCode.Error, "not stored; the copy moves to another member");
            span.Dispose();
        }

        member.EndPlacement();
        lock (_lock)
        {
            _arrived.Add((member, stored));
            _outstanding--;
            Signal(true);
        }
    }

    /// <summary>
    /// True once an outcome is there to <see cref="Take"/>; false when every copy sent has been taken, or once the
    /// deadline has passed first.
    /// </summary>
    public ValueTask<bool> NextAsync()
    {
        lock (_lock)
        {
            if (_read < _arrived.Count)
                return new ValueTask<bool>(true);
            if (_expired || _outstanding == 0)
                return new ValueTask<bool>(false);
            _signal.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    /// <summary>The next outcome, in arrival order (after <see cref="NextAsync"/> said there is one).</summary>
    public (MemberNode Member, bool Stored) Take()
    {
        lock (_lock)
            return _arrived[_read++];
    }

    private void Expire()
    {
        lock (_lock)
        {
            _expired = true;
            Signal(false);
        }
    }

    private void Signal(bool arrived)
    {
        if (!_waiting)
            return;
        _waiting = false;
        _signal.SetResult(arrived);
    }

    public void Dispose()
    {
        if (_timer is null)
            return;
        _expiry.Dispose();
        if (Timers.Count < PooledTimers && _timer.TryReset())
            Timers.Enqueue(_timer);
        else
            _timer.Dispose();
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}
