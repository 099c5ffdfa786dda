namespace Tolerex.Leader;

/// <summary>How long to wait before trying again: 50 ms, doubling with each attempt, at most 1 s.</summary>
internal static class RetryPause
{
    public static TimeSpan After(int attempt) => TimeSpan.FromMilliseconds(Math.Min(1000, 50 << Math.Min(attempt, 5)));
}
