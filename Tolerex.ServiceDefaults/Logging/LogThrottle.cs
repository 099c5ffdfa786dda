using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tolerex.ServiceDefaults.Logging;

/// <summary>
/// Keeps a warning that repeats per request (a refused SET, a failed call to a member) from burying the
/// log: per key, one line gets through per interval, and it carries how many like it were held back since
/// the one before.
/// </summary>
public sealed class LogThrottle(TimeSpan interval)
{
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);

    /// <summary>One line a second per key.</summary>
    public static LogThrottle PerSecond() => new(TimeSpan.FromSeconds(1));

    /// <summary>True when a line for <paramref name="key"/> may be written now; <paramref name="held"/> is how many were held back before it.</summary>
    public bool Allow(string key, out long held)
    {
        var window = _windows.GetOrAdd(key, static _ => new Window());
        var now = Stopwatch.GetTimestamp();
        lock (window)
        {
            if (window.Written != 0 && now - window.Written < _intervalTicks)
            {
                window.Held++;
                held = 0;
                return false;
            }

            held = window.Held;
            window.Held = 0;
            window.Written = now;
            return true;
        }
    }

    private sealed class Window
    {
        public long Written;
        public long Held;
    }
}
