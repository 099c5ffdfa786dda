namespace Tolerex.Leader.Placement;

/// <summary>
/// The default: the <c>count</c> candidates with the lowest load, ties broken by address
/// (ordinal), deterministic. A partial selection, not a full sort: O(n·count).
/// </summary>
internal sealed class LeastLoadedBalancer : IBalancer
{
    public void Pick<T>(IReadOnlyList<T> candidates, int count, List<T> chosen) where T : IPlacementCandidate
    {
        var start = chosen.Count;
        for (var round = 0; round < count && round < candidates.Count; round++)
        {
            T? best = default;
            var found = false;
            for (var i = 0; i < candidates.Count; i++)
            {
                var c = candidates[i];
                if (Contains(chosen, start, c))
                    continue;
                if (!found || IsBetter(c, best!))
                {
                    best = c;
                    found = true;
                }
            }

            if (!found)
                break;
            chosen.Add(best!);
        }
    }

    private static bool IsBetter<T>(T a, T b) where T : IPlacementCandidate
    {
        var la = a.Load;
        var lb = b.Load;
        return la < lb || (la == lb && string.CompareOrdinal(a.Address, b.Address) < 0);
    }

    private static bool Contains<T>(List<T> list, int start, T item) where T : IPlacementCandidate
    {
        for (var i = start; i < list.Count; i++)
        {
            if (ReferenceEquals(list[i], item))
                return true;
        }

        return false;
    }
}
