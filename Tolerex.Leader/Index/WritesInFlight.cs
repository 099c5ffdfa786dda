namespace Tolerex.Leader.Index;

/// <summary>
/// Which ids have a SET in flight. A DEL waits until the SETs of its id that started before it are done, so
/// its index record follows theirs in the log as its effect follows theirs in memory (a SET's record is
/// written before its copies are stored, but applied only after).
/// </summary>
internal sealed class WritesInFlight
{
    private readonly Dictionary<long, Slot> _slots = [];

    public void Enter(long id)
    {
        lock (_slots)
        {
            if (!_slots.TryGetValue(id, out var slot))
                _slots[id] = slot = new Slot();
            slot.Count++;
        }
    }

    public void Exit(long id)
    {
        TaskCompletionSource? idle;
        lock (_slots)
        {
            var slot = _slots[id];
            if (--slot.Count > 0)
                return;
            _slots.Remove(id);
            idle = slot.Idle;
        }

        idle?.TrySetResult();
    }

    /// <summary>True while a SET of <paramref name="id"/> is in flight.</summary>
    public bool Busy(long id)
    {
        lock (_slots)
            return _slots.ContainsKey(id);
    }

    /// <summary>Completes when no SET of <paramref name="id"/> is in flight.</summary>
    public Task WhenIdle(long id)
    {
        lock (_slots)
        {
            return _slots.TryGetValue(id, out var slot)
                ? (slot.Idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task
                : Task.CompletedTask;
        }
    }

    private sealed class Slot
    {
        public int Count;
        public TaskCompletionSource? Idle;
    }
}
