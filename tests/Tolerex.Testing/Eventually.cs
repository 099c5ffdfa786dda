using System.Diagnostics;

namespace Tolerex.Testing;

/// <summary>Waits for a condition a test cannot be told about, by asking again every 100 ms, within a deadline.</summary>
public static class Eventually
{
    /// <summary>
    /// Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> after <paramref name="timeout"/>. Connection errors while asking count as "not yet".
    /// </summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or EndOfStreamException or OperationCanceledException or TimeoutException)
            {
                last = e;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"timed out after {timeout} waiting for: {what}", last);
    }
}
