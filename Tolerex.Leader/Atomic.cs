namespace Tolerex.Leader;

internal static class Atomic
{
    /// <summary>Raises <paramref name="location"/> to <paramref name="value"/> if that is higher, lock-free.</summary>
    public static void Max(ref long location, long value)
    {
        var seen = Volatile.Read(ref location);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref location, value, seen);
            if (previous == seen)
                return;
            seen = previous;
        }
    }
}
