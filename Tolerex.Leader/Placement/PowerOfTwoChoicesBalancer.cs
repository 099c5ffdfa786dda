namespace Tolerex.Leader.Placement;

/// <summary>
/// Power of two choices: for each copy draw two distinct random candidates from the
/// remaining pool and keep the less loaded (a tie keeps the first draw). O(count) per pick.
/// </summary>
internal sealed class PowerOfTwoChoicesBalancer(Random? random = null) : IBalancer
{
    private readonly Random _random = random ?? Random.Shared;

    public void Pick<T>(IReadOnlyList<T> candidates, int count, List<T> chosen) where T : IPlacementCandidate
    {
        var n = candidates.Count;
        if (n <= count)
        {
            for (var i = 0; i < n; i++)
                chosen.Add(candidates[i]);
            return;
        }

        // Indices of the pool still available; a winner is swapped to the end and the pool shrinks.
        Span<int> pool = n <= 256 ? stackalloc int[n] : new int[n];
        for (var i = 0; i < n; i++)
            pool[i] = i;

        var size = n;
        for (var round = 0; round < count; round++)
        {
            int winner;
            if (size == 1)
            {
                winner = 0;
            }
            else
            {
                var i1 = _random.Next(size);
                var i2 = _random.Next(size - 1);
                if (i2 >= i1)
                    i2++;
                winner = candidates[pool[i2]].Load < candidates[pool[i1]].Load ? i2 : i1;
            }

            chosen.Add(candidates[pool[winner]]);
            pool[winner] = pool[size - 1];
            size--;
        }
    }
}
