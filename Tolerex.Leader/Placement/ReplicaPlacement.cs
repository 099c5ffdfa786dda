using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Placement;

/// <summary>
/// Picks members for copies and marks each pick as in flight in the same step, under a lock that guards
/// only this in-memory choice (never I/O): concurrent SETs see each other's picks and spread out instead
/// of herding onto the member that looked lightest in a shared snapshot.
/// </summary>
internal sealed class ReplicaPlacement(MemberRegistry registry, IBalancer balancer)
{
    private readonly Lock _lock = new();

    /// <summary>
    /// Adds up to <paramref name="count"/> placeable members (alive, not decommissioned, not pausing after a refused
    /// batch) that are not in <paramref name="exclude"/> to <paramref name="chosen"/>.
    /// </summary>
    public void Reserve(int count, IReadOnlyCollection<MemberNode> exclude, List<MemberNode> chosen)
    {
        lock (_lock)
        {
            var alive = registry.Placeable;
            IReadOnlyList<MemberNode> candidates = exclude.Count == 0 && !Array.Exists(alive, m => m.WritesPaused)
                ? alive
                : Array.FindAll(alive, m => !m.WritesPaused && !exclude.Contains(m));
            var start = chosen.Count;
            balancer.Pick(candidates, count, chosen);
            for (var i = start; i < chosen.Count; i++)
                chosen[i].BeginPlacement();
        }
    }
}
