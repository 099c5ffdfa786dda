using Tolerex.Testing.History;

namespace Tolerex.Tests.Unit.History;

/// <summary>The history checker the fault tests rely on, on histories whose verdict is known.</summary>
public class LinearizabilityCheckerTests
{
    private static Operation Set(int client, string value, long from, long? to, long id = 1) => new(client, id, OperationKind.Set, value, from, to);

    private static Operation Get(int client, string? value, long from, long to, long id = 1) => new(client, id, OperationKind.Get, value, from, to);

    private static Operation Del(int client, bool deleted, long from, long? to, long id = 1) => new(client, id, OperationKind.Delete, null, from, to, deleted);

    [Fact]
    public void Sequential_reads_of_the_last_write_are_linearizable() =>
        Assert.True(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Get(2, "a", 2, 3), Set(1, "b", 4, 5), Get(2, "b", 6, 7)]).Linearizable);

    [Fact]
    public void A_read_overlapping_a_write_may_see_either_value()
    {
        Assert.True(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Set(1, "b", 2, 10), Get(2, "a", 3, 4), Get(3, "b", 5, 6)]).Linearizable);
        // ...but once a read saw the new value, a later read may not see the old one.
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Set(1, "b", 2, 10), Get(2, "b", 3, 4), Get(3, "a", 5, 6)]).Linearizable);
    }

    [Fact]
    public void A_stale_read_after_an_acknowledged_write_is_caught()
    {
        // The checker's own negative test: a planted stale read in a recorded history.
        var verdict = LinearizabilityChecker.Check([Set(1, "old", 0, 1), Set(1, "new", 2, 3), Get(2, "old", 4, 5), Get(2, "x", 0, 1, id: 2), Set(1, "x", 0, 1, id: 2)]);
        Assert.False(verdict.Linearizable);
        Assert.Equal(1, verdict.Id);
        Assert.Contains("-> 'old'", verdict.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_of_a_value_never_written_is_caught() =>
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Get(2, "b", 2, 3)]).Linearizable);

    [Fact]
    public void A_write_with_an_unknown_outcome_may_take_effect_late_or_never()
    {
        // Unknown: the client got an error. It may show up long after, or never.
        Assert.True(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Set(2, "lost", 2, null), Get(3, "a", 5, 6), Get(3, "lost", 10, 11)]).Linearizable);
        Assert.True(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Set(2, "lost", 2, null), Get(3, "a", 5, 6), Get(3, "a", 10, 11)]).Linearizable);
        // ...but not before it was invoked, and once seen it stays (until overwritten).
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Get(3, "lost", 2, 3), Set(2, "lost", 5, null)]).Linearizable);
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Set(2, "lost", 2, null), Get(3, "lost", 5, 6), Get(3, "a", 10, 11)]).Linearizable);
    }

    [Fact]
    public void Deletes_answer_by_what_was_there()
    {
        Assert.True(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Del(2, true, 2, 3), Get(3, null, 4, 5), Del(2, false, 6, 7)]).Linearizable);
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Del(2, true, 2, 3), Get(3, "a", 4, 5)]).Linearizable);
        Assert.False(LinearizabilityChecker.Check([Set(1, "a", 0, 1), Del(2, false, 2, 3)]).Linearizable);
        Assert.False(LinearizabilityChecker.Check([Del(2, true, 0, 1)]).Linearizable);
    }

    [Fact]
    public void Many_concurrent_clients_with_unique_values_are_checked_quickly()
    {
        // A register driven by 8 clients, each op overlapping its neighbours: a correct history by construction.
        var history = new List<Operation>();
        string? value = null;
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var at = i * 10L;
            var client = i % 8;
            switch (random.Next(3))
            {
                case 0:
                    value = $"v{i}";
                    history.Add(Set(client, value, at - random.Next(15), at + random.Next(15)));
                    break;
                case 1:
                    history.Add(Get(client, value, at - random.Next(15), at + random.Next(15)));
                    break;
                default:
                    history.Add(Del(client, value is not null, at - random.Next(15), at + random.Next(15)));
                    value = null;
                    break;
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(LinearizabilityChecker.Check(history).Linearizable);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Hundreds_of_writes_with_unknown_outcome_that_nobody_read_keep_the_search_small()
    {
        // A client retrying against a leader that refuses writes: every refused SET may or may not have happened.
        var history = new List<Operation> { Set(0, "a", 0, 1) };
        for (var i = 0; i < 300; i++)
            history.Add(Set(1 + i % 6, $"refused{i}", 2 + i, null));
        history.Add(Get(7, "a", 400, 401));
        history.Add(Set(7, "b", 402, 403));
        history.Add(Get(0, "b", 404, 405));

        var verdict = LinearizabilityChecker.Check(history, maxStates: 10_000);

        Assert.True(verdict.Linearizable, verdict.ToString());
    }

    [Fact]
    public void A_stale_read_among_writes_with_unknown_outcome_is_caught()
    {
        var history = new List<Operation> { Set(0, "a", 0, 1), Set(0, "b", 2, 3) };
        for (var i = 0; i < 5; i++)
            history.Add(Set(1 + i, $"unknown{i}", 4 + i, null));
        history.Add(Get(7, "unknown3", 20, 21));
        history.Add(Get(7, "a", 22, 23)); // "a" was overwritten before any of these began

        var verdict = LinearizabilityChecker.Check(history);

        Assert.False(verdict.Linearizable);
        Assert.False(verdict.Undecided);
    }

    [Fact]
    public void A_search_past_its_budget_is_reported_undecided_not_linearizable()
    {
        var history = new List<Operation> { Set(0, "a", 0, 1), Set(0, "b", 2, 3) };
        for (var i = 0; i < 12; i++)
            history.Add(Set(1 + i, $"unknown{i}", 4 + i, null));
        history.Add(Get(20, "unknown3", 30, 31));
        history.Add(Get(20, "a", 32, 33));

        var verdict = LinearizabilityChecker.Check(history, maxStates: 50);

        Assert.False(verdict.Linearizable);
        Assert.True(verdict.Undecided);
        Assert.StartsWith("UNDECIDED", verdict.ToString(), StringComparison.Ordinal);
    }
}
