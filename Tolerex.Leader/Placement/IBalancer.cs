namespace Tolerex.Leader.Placement;

/// <summary>What a balancer sees of a member.</summary>
internal interface IPlacementCandidate
{
    string Address { get; }
    /// <summary>Messages held (as last reported) plus placements in flight.</summary>
    long Load { get; }
}

/// <summary>Chooses which members receive a message's copies.</summary>
internal interface IBalancer
{
    /// <summary>Picks up to <paramref name="count"/> distinct candidates into <paramref name="chosen"/>.</summary>
    void Pick<T>(IReadOnlyList<T> candidates, int count, List<T> chosen) where T : IPlacementCandidate;
}
