using Tolerex.Leader.Frontends;

namespace Tolerex.Tests.Unit.Leader;

/// <summary>What a connection's pipelined SETs may have in flight at once, and the order their replies take.</summary>
public sealed class PipelinedSetsTests
{
    [Fact(Timeout = 10_000)]
    public void A_set_waits_for_one_of_the_same_id_and_for_the_count_and_byte_limits()
    {
        var sets = new PipelinedSets(maxCount: 3, maxBytes: 100);
        Assert.True(sets.CanStart(1, 500)); // the first may be as large as a line allows
        sets.Started(1, 500, new TaskCompletionSource<bool>().Task, 0);
        Assert.False(sets.CanStart(2, 1)); // beyond the first, values stay within maxBytes
        Assert.False(sets.CanStart(1, 0));

        var small = new PipelinedSets(maxCount: 3, maxBytes: 100);
        small.Started(1, 40, new TaskCompletionSource<bool>().Task, 0);
        Assert.True(small.CanStart(2, 60));
        small.Started(2, 60, new TaskCompletionSource<bool>().Task, 0);
        Assert.False(small.CanStart(3, 1));
        Assert.False(small.CanStart(2, 0)); // the same id: after the one in flight
        var counted = new PipelinedSets(maxCount: 2, maxBytes: 1000);
        counted.Started(1, 1, Task.FromResult(true), 0);
        counted.Started(2, 1, Task.FromResult(true), 0);
        Assert.False(counted.CanStart(3, 1));
    }

    [Fact(Timeout = 10_000)]
    public async Task Replies_go_out_in_the_order_the_sets_came_whatever_order_they_finish_in()
    {
        var sets = new PipelinedSets(maxCount: 10, maxBytes: 1000);
        var first = new TaskCompletionSource<bool>();
        var second = new TaskCompletionSource<bool>();
        sets.Started(1, 1, first.Task, 11);
        sets.Started(2, 1, second.Task, 22);
        sets.Started(3, 1, Task.FromResult(true), 33);
        var replies = new List<(bool Stored, long Started)>();
        var answering = sets.AnswerAllAsync((stored, started) => replies.Add((stored, started)));
        second.SetResult(false);
        Assert.Empty(replies);
        first.SetResult(true);
        await answering;
        Assert.Equal([(true, 11L), (false, 22L), (true, 33L)], replies);
        Assert.True(sets.IsEmpty);
        Assert.True(sets.CanStart(1, 1000)); // nothing in flight any more
    }
}
