using System.Diagnostics;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// The SETs a connection has sent one after another without waiting for their replies (pipelining), stored side
/// by side instead of one after another: each starts when parsed, so its version follows those of the SETs before
/// it, and the replies go out in the order the SETs came. Any other command waits until every SET before it has
/// been answered, and a SET of an id already in flight here waits for that one, so a connection still sees its
/// own commands take effect in order. At most <c>MaxPipelinedSets</c> are in flight per connection, holding at most
/// <c>MaxLineBytes</c> of values beyond the first (each holds a copy of its value until it is answered).
/// </summary>
internal sealed class PipelinedSets(int maxCount, long maxBytes)
{
    private readonly Queue<(long Id, Task<bool> Stored, long Started)> _inFlight = new();
    private long _bytes;

    public bool IsEmpty => _inFlight.Count == 0;

    /// <summary>Whether a SET of <paramref name="id"/> with a value of <paramref name="bytes"/> may start now, beside those in flight.</summary>
    public bool CanStart(long id, long bytes)
    {
        if (_inFlight.Count >= maxCount || (_inFlight.Count > 0 && _bytes + bytes > maxBytes))
            return false;
        foreach (var set in _inFlight)
        {
            if (set.Id == id)
                return false;
        }

        return true;
    }

    public void Started(long id, long bytes, Task<bool> stored, long started)
    {
        _inFlight.Enqueue((id, stored, started));
        _bytes += bytes;
    }

    /// <summary>Waits for every SET in flight, in order, and answers each through <paramref name="reply"/> (stored, started).</summary>
    public async ValueTask AnswerAllAsync(Action<bool, long> reply)
    {
        while (_inFlight.TryDequeue(out var set))
            reply(await set.Stored, set.Started);
        _bytes = 0;
    }

    /// <summary>A timestamp for a SET's duration metric.</summary>
    public static long Now => Stopwatch.GetTimestamp();
}
