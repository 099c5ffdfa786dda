using Tolerex.Leader.Placement;

namespace Tolerex.Tests.Unit.Leader;

public class BalancerTests
{
    private sealed record Candidate(string Address, long Load) : IPlacementCandidate;

    private static readonly Candidate[] Original = [new("A", 10), new("B", 5), new("C", 20), new("D", 2)];

    private static List<string> Pick(IBalancer balancer, IReadOnlyList<Candidate> candidates, int count)
    {
        var chosen = new List<Candidate>();
        balancer.Pick(candidates, count, chosen);
        return [.. chosen.Select(c => c.Address)];
    }

    [Fact]
    public void Least_loaded_matches_the_originals_vectors()
    {
        Assert.Equal(["D", "B"], Pick(new LeastLoadedBalancer(), Original, 2));
        Assert.Equal(["D", "B", "A", "C"], Pick(new LeastLoadedBalancer(), Original, 100));
    }

    [Fact]
    public void Least_loaded_breaks_ties_by_address()
    {
        Candidate[] tied = [new("m3", 1), new("m1", 1), new("m2", 1)];
        Assert.Equal(["m1", "m2"], Pick(new LeastLoadedBalancer(), tied, 2));
    }

    [Fact]
    public void P2c_returns_distinct_members_and_all_when_there_are_few()
    {
        var balancer = new PowerOfTwoChoicesBalancer(new Random(42));
        for (var i = 0; i < 200; i++)
        {
            var picked = Pick(balancer, Original, 2);
            Assert.Equal(2, picked.Distinct().Count());
        }

        Assert.Equal(["A", "B", "C", "D"], Pick(balancer, Original, 4));
        Assert.Equal(["A", "B", "C", "D"], Pick(balancer, Original, 9));
    }

    [Fact]
    public void P2c_prefers_the_less_loaded_of_two()
    {
        // With two candidates and one pick, both are always drawn, so the lighter one must win every time.
        Candidate[] two = [new("heavy", 100), new("light", 1)];
        var balancer = new PowerOfTwoChoicesBalancer(new Random(7));
        for (var i = 0; i < 100; i++)
            Assert.Equal(["light"], Pick(balancer, two, 1));
    }

    [Fact]
    public void Counting_in_flight_placements_spreads_concurrent_writes()
    {
        // Simulates what ReplicaPlacement does: each pick raises the chosen members' load before the next pick.
        var loads = new Dictionary<string, long> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        var balancer = new LeastLoadedBalancer();
        for (var i = 0; i < 300; i++)
        {
            var candidates = loads.Select(kv => new Candidate(kv.Key, kv.Value)).ToList();
            foreach (var address in Pick(balancer, candidates, 2))
                loads[address]++;
        }

        Assert.All(loads.Values, v => Assert.Equal(200, v));
    }
}
