using System.Diagnostics;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// The SETs a connection has sent one after another without waiting for their replies (pipelining), stored side
/// by side instead of one after another: each starts when parsed, so its version follows those of the SETs before
/// it, and the replies go out in the order the SETs came. Any other command waits until every SET before it has
/// been answered, and a SET of an id already in flight here waits for that one, so a connection still sees its
/// own commands take effect in order. At most <c>MaxPipelinedSets</c> are in flight per connection.
/// </summary>
internal sealed class PipelinedSets(int max)
{
    private readonly Queue<(long Id, Task<bool> Stored, long Started)> _inFlight = new();

    public bool IsEmpty => _inFlight.Count == 0;

    /// <summary>Whether a SET of <paramref name="id"/> may start now, beside those in flight.</summary>
    public bool CanStart(long id)
    {
        if (_inFlight.Count >= max)
            return false;
        foreach (var set in _inFlight)
        {
            if (set.Id == id)
                return false;
        }

        return true;
    }

    public void Started(long id, Task<bool> stored, long started) => _inFlight.Enqueue((id, stored, started));

    /// <summary>Waits for every SET in flight, in order, and answers each through <paramref name="reply"/> (stored, started).</summary>
    public async ValueTask AnswerAllAsync(Action<bool, long> reply)
    {
        while (_inFlight.TryDequeue(out var set))
            reply(await set.Stored, set.Started);
    }

    /// <summary>A timestamp for a SET's duration metric.</summary>
    public static long Now => Stopwatch.GetTimestamp();
}
