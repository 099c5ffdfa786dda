using Grpc.Net.Client;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;

namespace Tolerex.Tests.Unit.Leader;

/// <summary>How a SET takes the outcomes of its copies: every one, in arrival order, until its deadline.</summary>
public sealed class CopyOutcomesTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    // Never dialled: a member node needs a channel, these tests only report outcomes for it.
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress("http://127.0.0.1:9");

    private MemberNode Member(int number)
    {
        var member = new MemberNode(number, $"127.0.0.1:{9000 + number}", $"member-{number}", _channel);
        member.BeginPlacement();
        return member;
    }

    [Fact]
    public async Task Outcomes_reported_before_the_SET_looks_are_all_taken_in_arrival_order()
    {
        var (a, b) = (Member(1), Member(2));
        using var copies = new CopyOutcomes(Bound);
        copies.Sent();
        copies.Sent();
        copies.Report(b, stored: true, span: null);
        copies.Report(a, stored: false, span: null);

        // Nothing is still to come, but two outcomes are still to be taken.
        Assert.True(await copies.NextAsync());
        Assert.Equal((b, true), copies.Take());
        Assert.True(await copies.NextAsync());
        Assert.Equal((a, false), copies.Take());
        // Every copy sent is taken: the SET's wait ends at once, long before the deadline.
        Assert.True(copies.NextAsync().IsCompleted);
        Assert.False(await copies.NextAsync());
        // Each report ended the placement its copy began.
        Assert.Equal(0, a.InFlight);
        Assert.Equal(0, b.InFlight);
    }

    [Fact]
    public async Task A_copy_sent_while_taking_outcomes_is_waited_for()
    {
        var (a, b) = (Member(1), Member(2));
        using var copies = new CopyOutcomes(Bound);
        copies.Sent();
        copies.Report(a, stored: false, span: null);
        Assert.True(await copies.NextAsync());
        Assert.Equal((a, false), copies.Take());

        // The failed copy moves to another member: the SET waits for that one too.
        copies.Sent();
        var next = copies.NextAsync().AsTask();
        Assert.False(next.IsCompleted);
        copies.Report(b, stored: true, span: null);
        Assert.True(await next.WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.Equal((b, true), copies.Take());
        Assert.False(await copies.NextAsync());
    }

    [Fact]
    public async Task A_copy_reported_while_the_SET_waits_wakes_it()
    {
        var member = Member(1);
        using var copies = new CopyOutcomes(Bound);
        copies.Sent();
        var next = copies.NextAsync().AsTask();
        Assert.False(next.IsCompleted);
        copies.Report(member, stored: true, span: null);
        Assert.True(await next.WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.Equal((member, true), copies.Take());
    }

    [Fact]
    public async Task At_the_deadline_the_wait_ends_without_an_outcome_and_a_late_report_is_harmless()
    {
        var member = Member(1);
        var copies = new CopyOutcomes(TimeSpan.FromMilliseconds(50));
        copies.Sent();
        Assert.False(await copies.NextAsync().AsTask().WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.False(await copies.NextAsync()); // still past it
        copies.Dispose();
        copies.Report(member, stored: true, span: null); // the copy finished after the SET gave up
        Assert.Equal(0, member.InFlight);
    }

    [Fact]
    public async Task A_deadline_already_passed_ends_the_wait_at_once()
    {
        using var copies = new CopyOutcomes(TimeSpan.FromSeconds(-1));
        copies.Sent();
        Assert.False(await copies.NextAsync().AsTask().WaitAsync(Bound, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Without_a_deadline_the_wait_lasts_until_the_outcome()
    {
        var member = Member(1);
        using var copies = new CopyOutcomes(left: null);
        copies.Sent();
        var next = copies.NextAsync().AsTask();
        copies.Report(member, stored: false, span: null);
        Assert.True(await next.WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.Equal((member, false), copies.Take());
    }

    public void Dispose() => _channel.Dispose();
}
