namespace Tolerex.Leader.Replication;

/// <summary>
/// Hands out strictly increasing write versions. It starts at the wall clock (in ticks) so versions keep
/// increasing across leader restarts, and it moves past any version a member reports holding.
/// </summary>
internal sealed class VersionClock
{
    private long _last = DateTime.UtcNow.Ticks;

    public long Next() => Interlocked.Increment(ref _last);

    public void Observe(long version) => Atomic.Max(ref _last, version);
}
