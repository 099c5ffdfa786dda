using System.Diagnostics;

namespace Tolerex.Client.Session;

/// <summary>Latency samples in Stopwatch ticks; percentiles by nearest rank. Not thread-safe: one owner adds.</summary>
internal sealed class LatencySamples
{
    private readonly List<long> _ticks = [];
    private bool _sorted = true;

    public int Count => _ticks.Count;

    public void Add(long ticks)
    {
        _sorted &= _ticks.Count == 0 || _ticks[^1] <= ticks;
        _ticks.Add(ticks);
    }

    public void AddRange(LatencySamples other)
    {
        foreach (var t in other._ticks)
            Add(t);
    }

    public double MeanUs => Count == 0 ? 0 : ToUs(_ticks.Average());

    public double MinUs => Count == 0 ? 0 : PercentileUs(0);

    public double MaxUs => Count == 0 ? 0 : PercentileUs(100);

    public double PercentileUs(double percentile)
    {
        if (!_sorted)
        {
            _ticks.Sort();
            _sorted = true;
        }

        return Percentile(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ticks), percentile);
    }

    /// <summary>Nearest-rank percentile of sorted Stopwatch tick durations, in microseconds (0 when empty).</summary>
    public static double Percentile(ReadOnlySpan<long> sortedTicks, double percentile)
    {
        if (sortedTicks.Length == 0)
            return 0;
        // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary floating point.
        var rank = (int)Math.Ceiling(percentile * sortedTicks.Length / 100 - 1e-9);
        return ToUs(sortedTicks[Math.Clamp(rank - 1, 0, sortedTicks.Length - 1)]);
    }

    public static double ToUs(double ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
