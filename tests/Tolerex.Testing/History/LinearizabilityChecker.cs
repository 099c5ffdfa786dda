namespace Tolerex.Testing.History;

/// <summary>
/// The verdict on one history: linearizable, or the id whose operations admit no order, or (Undecided) the id
/// whose search went past its budget of states before finding an order or ruling every order out.
/// </summary>
public sealed record Verdict(bool Linearizable, long? Id, IReadOnlyList<Operation> Operations, int Checked, bool Undecided = false)
{
    public override string ToString() => Linearizable
        ? $"linearizable ({Checked} operations)"
        : $"{(Undecided ? "UNDECIDED (search budget exhausted)" : "NOT linearizable")}: id {Id}, {Operations.Count} operations:\n"
          + string.Join('\n', Operations.OrderBy(o => o.Invoked));
}

/// <summary>
/// Decides whether a history of SET/GET/DEL operations is linearizable, each id being a register (the model
/// Knossos and Porcupine check, with Lowe's memoized Wing–Gong search). An operation with a known outcome took
/// effect at one instant between its invocation and its completion; one with an unknown outcome (an error, or
/// no answer) at any instant after its invocation, or never: it has no completion, so the search may place it
/// last, which is the same as not at all for everything observed. GETs with an unknown outcome say nothing
/// and are left out. Values written are unique, which keeps the search small.
/// <para>
/// Each write with an unknown outcome may be placed anywhere after its invocation, so a few hundred of them
/// (a client retrying against a leader that refuses writes) would make the search exponential. Each id is
/// therefore first checked without the unknown SETs whose value nobody read: assuming they never happened is
/// one of the outcomes allowed, so an order found then is an order of the full history.
/// Only when none is found does the search take every operation, within <c>maxStates</c>.
/// </para>
/// </summary>
public static class LinearizabilityChecker
{
    /// <param name="history">Operations of any number of ids, in any order.</param>
    /// <param name="maxStates">States the search of one id may visit before the verdict is Undecided.</param>
    public static Verdict Check(IEnumerable<Operation> history, int maxStates = 2_000_000)
    {
        var checkedCount = 0;
        foreach (var group in history.Where(o => o.Known || o.Kind != OperationKind.Get).GroupBy(o => o.Id))
        {
            var operations = group.ToList();
            checkedCount += operations.Count;
            var read = operations.Where(o => o.Known && o.Kind == OperationKind.Get && o.Value is not null).Select(o => o.Value).ToHashSet();
            var pruned = operations.Where(o => o.Known || o.Kind != OperationKind.Set || read.Contains(o.Value)).ToList();
            if (pruned.Count < operations.Count && CheckRegister(pruned, maxStates) == Result.Linearizable)
                continue;
            switch (CheckRegister(operations, maxStates))
            {
                case Result.NotLinearizable:
                    return new Verdict(false, group.Key, operations, checkedCount);
                case Result.Undecided:
                    return new Verdict(false, group.Key, operations, checkedCount, Undecided: true);
            }
        }

        return new Verdict(true, null, [], checkedCount);
    }

    private enum Result { Linearizable, NotLinearizable, Undecided }

    /// <summary>The register's value after <paramref name="operation"/>, or false when it cannot happen in state <paramref name="value"/>.</summary>
    private static bool Step(string? value, Operation operation, out string? next)
    {
        next = value;
        switch (operation.Kind)
        {
            case OperationKind.Set:
                next = operation.Value;
                return true;
            case OperationKind.Get:
                return value == operation.Value;
            default:
                next = null;
                // OK means something was deleted; NOT_FOUND means nothing was there. Unknown: either.
                return !operation.Known || operation.Deleted == (value is not null);
        }
    }

    /// <summary>Call and return events in time order, linked so the search can lift operations out and put them back.</summary>
    private sealed class Entry
    {
        public required int Operation;
        public required bool IsCall;
        public required long Time;
        public Entry? Match; // a call's return
        public Entry? Previous;
        public Entry? Next;
    }

    private static Result CheckRegister(List<Operation> operations, int maxStates)
    {
        var entries = new List<Entry>(operations.Count * 2);
        for (var i = 0; i < operations.Count; i++)
        {
            var call = new Entry { Operation = i, IsCall = true, Time = operations[i].Invoked };
            var ret = new Entry { Operation = i, IsCall = false, Time = operations[i].Completed ?? long.MaxValue };
            call.Match = ret;
            entries.Add(call);
            entries.Add(ret);
        }

        // At equal times calls come first: operations that touch in time may overlap.
        entries.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.IsCall == b.IsCall ? 0 : a.IsCall ? -1 : 1);
        var head = new Entry { Operation = -1, IsCall = false, Time = long.MinValue };
        var tail = head;
        foreach (var e in entries)
        {
            tail.Next = e;
            e.Previous = tail;
            tail = e;
        }

        var linearized = new ulong[(operations.Count + 63) / 64];
        var seen = new HashSet<(string Bits, string? State)>();
        var stack = new Stack<(Entry Call, string? State)>();
        string? state = null;
        var current = head.Next;
        while (head.Next is not null)
        {
            if (current is null)
                return Result.NotLinearizable;
            if (current.IsCall)
            {
                var operation = operations[current.Operation];
                if (Step(state, operation, out var next))
                {
                    Set(linearized, current.Operation, true);
                    if (seen.Add((Key(linearized), next)))
                    {
                        if (seen.Count > maxStates)
                            return Result.Undecided;
                        stack.Push((current, state));
                        state = next;
                        Lift(current);
                        current = head.Next;
                        continue;
                    }

                    Set(linearized, current.Operation, false);
                }

                current = current.Next;
            }
            else
            {
                // A return whose call is not linearized yet: backtrack.
                if (stack.Count == 0)
                    return Result.NotLinearizable;
                var (call, previous) = stack.Pop();
                state = previous;
                Set(linearized, call.Operation, false);
                Unlift(call);
                current = call.Next;
            }
        }

        return Result.Linearizable;
    }

    private static void Lift(Entry call)
    {
        call.Previous!.Next = call.Next;
        call.Next!.Previous = call.Previous;
        var ret = call.Match!;
        ret.Previous!.Next = ret.Next;
        if (ret.Next is not null)
            ret.Next.Previous = ret.Previous;
    }

    private static void Unlift(Entry call)
    {
        var ret = call.Match!;
        ret.Previous!.Next = ret;
        if (ret.Next is not null)
            ret.Next.Previous = ret;
        call.Previous!.Next = call;
        call.Next!.Previous = call;
    }

    private static void Set(ulong[] bits, int index, bool on)
    {
        if (on)
            bits[index / 64] |= 1UL << (index % 64);
        else
            bits[index / 64] &= ~(1UL << (index % 64));
    }

    private static string Key(ulong[] bits) => Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()));
}
