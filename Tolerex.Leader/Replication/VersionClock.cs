namespace Tolerex.Leader.Replication;

/// <summary>
/// Hands out strictly increasing write versions. It starts at the wall clock (in ticks) and moves past any
/// version recorded in the index or reported by a member. A leader numbers writes only below the floor it
/// reserved through the leader group when it began to lead (<see cref="Reserve"/>), and a new leader starts
/// above that floor, so versions keep increasing across failovers whatever the nodes' clocks say, including
/// for writes a leader stored on members but never committed.
/// </summary>
internal sealed class VersionClock
{
    /// <summary>Versions one leadership reserves at a time: 2^40, far more than one term writes.</summary>
    public const long ReservedPerTerm = 1L << 40;

    private long _last = DateTime.UtcNow.Ticks;
    private long _reservedTo = long.MaxValue;

    public long Next() => Interlocked.Increment(ref _last);

    public void Observe(long version) => Atomic.Max(ref _last, version);

    /// <summary>The last version handed out (or observed): every version handed out later is higher.</summary>
    public long Last => Volatile.Read(ref _last);

    /// <summary>The next reservation's floor: <see cref="ReservedPerTerm"/> above the last version handed out.</summary>
    public long NextFloor => Last + ReservedPerTerm;

    /// <summary>True when less than half of the reservation is left (a term that wrote 2^39 versions reserves more).</summary>
    public bool RunningLow => Volatile.Read(ref _reservedTo) - Last < ReservedPerTerm / 2;

    /// <summary>Versions below <paramref name="floor"/> are this leader's to hand out (committed through the group).</summary>
    public void Reserve(long floor) => Volatile.Write(ref _reservedTo, floor);
}
