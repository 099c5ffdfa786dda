namespace Tolerex.Tests.Integration.Group;

/// <summary>
/// The leader-group tests measure failover against real timeouts (an election starts after 0.5–1 s of silence):
/// they run on their own, after the tests that run in parallel, so a starved machine does not stand in for a
/// slow election.
/// </summary>
[CollectionDefinition(nameof(LeaderGroupCollection), DisableParallelization = true)]
public sealed class LeaderGroupCollection;
