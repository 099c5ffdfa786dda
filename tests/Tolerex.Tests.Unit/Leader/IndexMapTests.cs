using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;

namespace Tolerex.Tests.Unit.Leader;

public class IndexMapTests
{
    private static readonly MemberNode[] NoReplicas = [];

    [Fact]
    public void An_entry_is_only_replaced_by_a_higher_version()
    {
        var index = new IndexMap();
        Assert.True(index.Put(1, new IndexEntry(10, NoReplicas)));
        Assert.False(index.Put(1, new IndexEntry(9, NoReplicas)));   // a slow, older SET finishing late
        Assert.False(index.Put(1, new IndexEntry(10, NoReplicas)));
        Assert.True(index.Put(1, new IndexEntry(11, NoReplicas)));
        Assert.True(index.TryGet(1, out var entry));
        Assert.Equal(11, entry.Version);
    }

    [Fact]
    public void A_deletion_is_remembered_by_its_version_for_reads_that_ask_every_member()
    {
        var index = new IndexMap();
        Assert.Equal(0, index.DeletedAt(1));
        Assert.True(index.Put(1, new IndexEntry(10, NoReplicas)));
        Assert.False(index.Remove(1, 9)); // older than the value: not removed, not a deletion
        Assert.Equal(0, index.DeletedAt(1));
        Assert.True(index.Remove(1, 12));
        Assert.Equal(12, index.DeletedAt(1));
        // A SET after the deletion (one that died with a leader, say) leaves the deletion's version in place.
        Assert.True(index.Put(1, new IndexEntry(13, NoReplicas)));
        Assert.Equal(12, index.DeletedAt(1));
    }

    [Fact]
    public void Fresh_ids_are_above_every_known_id_and_never_overlap()
    {
        var index = new IndexMap();
        index.Put(500, new IndexEntry(1, NoReplicas));
        Assert.True(index.TryReserveIds(10, out var a));
        Assert.True(index.TryReserveIds(10, out var b));
        Assert.Equal(501, a);
        Assert.Equal(511, b);
        index.Put(10_000, new IndexEntry(2, NoReplicas));
        Assert.True(index.TryReserveIds(1, out var c));
        Assert.Equal(10_001, c);
    }

    [Fact]
    public void Reserving_past_the_end_of_the_id_space_is_refused()
    {
        var index = new IndexMap();
        index.Put(long.MaxValue - 5, new IndexEntry(1, NoReplicas));
        Assert.True(index.TryReserveIds(5, out var first));
        Assert.Equal(long.MaxValue - 4, first);
        Assert.False(index.TryReserveIds(1, out _));
    }
}
