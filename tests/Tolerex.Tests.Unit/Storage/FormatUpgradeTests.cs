using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Member.Store;
using Tolerex.ServiceDefaults.Identity;
using Tolerex.Storage.Log;

namespace Tolerex.Tests.Unit.Storage;

/// <summary>Data directories written by earlier versions open unchanged.</summary>
public sealed class FormatUpgradeTests : IDisposable
{
    private static readonly NodeTls Tls = NodeTls.CreateEphemeral(PeerIdentity.Leader);
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-upgrade-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A copy of the data directories in Fixtures/EarlierFormat (see its README).</summary>
    private string Fixture(string node)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Storage", "Fixtures", "EarlierFormat", node);
        var target = Path.Combine(_dir, node);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    /// <summary>What the fixture's client wrote: null for deleted ids.</summary>
    private static string? Expected(long id) => id switch
    {
        7 => "binary \u0001\u0002 tail",
        <= 50 => $"rewritten {id}",
        < 190 => $"value {id}",
        _ => null,
    };

    private sealed record Leader(SoloGroup Group, IndexStateMachine Machine, MessageIndex Index, MemberRegistry Registry) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Group.DisposeAsync();
            Registry.Dispose();
        }
    }

    private static async Task<Leader> OpenLeaderAsync(string directory)
    {
        var options = Options.Create(new LeaderOptions { DataDir = directory });
        var registry = new MemberRegistry(options, Tls, NullLogger<MemberRegistry>.Instance);
        var map = new IndexMap();
        var machine = new IndexStateMachine(map, registry, options, NullLogger<IndexStateMachine>.Instance);
        var group = await SoloGroup.StartAsync(machine, options.Value);
        return new Leader(group, machine, new MessageIndex(map, group.Journal, machine, options, NullLogger<MessageIndex>.Instance), registry);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_cluster_written_by_the_earlier_format_opens_with_every_acknowledged_value()
    {
        var leaderDirectory = Fixture("leader");
        var stores = new Dictionary<string, MessageStore>();
        try
        {
            foreach (var node in new[] { "member1", "member2", "member3" })
                stores[node] = MessageStore.Open(Fixture(node), new MessageStoreOptions(), NullLogger.Instance);

            await using (var leader = await OpenLeaderAsync(leaderDirectory))
            {
                Assert.Equal(3, leader.Registry.All.Length);
                Assert.All(leader.Registry.All, m => Assert.StartsWith("member-2556", m.Identity, StringComparison.Ordinal));
                Assert.Equal(189, leader.Index.Count);
                for (long id = 1; id <= 200; id++)
                {
                    if (Expected(id) is not { } text)
                    {
                        Assert.False(leader.Index.TryGet(id, out _), $"id {id} was deleted");
                        continue;
                    }

                    Assert.True(leader.Index.TryGet(id, out var entry), $"id {id} is indexed");
                    Assert.Equal(2, entry.Replicas.Length);
                    foreach (var replica in entry.Replicas)
                    {
                        // The fixture's members listened on ports 25561-25563 as member1-3.
                        var store = stores[$"member{replica.Address[^1]}"];
                        var held = await store.ReadAsync(id, Ct);
                        Assert.True(held is not null, $"id {id} on {replica.Address}");
                        Assert.Equal((entry.Version, text), (held.Value.Version, Encoding.UTF8.GetString(held.Value.Payload)));
                    }
                }

                // The index now lives in the consensus log (its earlier files are gone), and takes new writes.
                Assert.False(File.Exists(Path.Combine(leaderDirectory, LegacyIndexFormat.CheckpointName)));
                Assert.Empty(Directory.GetFiles(leaderDirectory, "*" + LegacyIndexFormat.LogSuffix));
                var replicas = leader.Registry.All[..2];
                Assert.True(await leader.Index.BeginWrite(1000, long.MaxValue - 1, replicas).CommitAsync(replicas));
            }

            await using var reopened = await OpenLeaderAsync(leaderDirectory);
            Assert.Equal(190, reopened.Index.Count);
            Assert.True(reopened.Index.TryGet(1000, out _));
            Assert.Equal(0, reopened.Machine.CorruptRecords);
        }
        finally
        {
            foreach (var store in stores.Values)
                await store.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task An_import_cut_short_before_its_files_were_removed_runs_again_to_the_same_index()
    {
        var directory = Fixture("leader");
        await using (await OpenLeaderAsync(directory))
        {
        }

        // A crash after the import was committed but before its files were removed leaves both; the import runs
        // again before the leader serves, so nothing changed in between and its records change nothing.
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Storage", "Fixtures", "EarlierFormat", "leader")))
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        await using var reopened = await OpenLeaderAsync(directory);
        Assert.Equal(189, reopened.Index.Count);
        Assert.False(File.Exists(Path.Combine(directory, LegacyIndexFormat.CheckpointName)));
    }

    /// <summary>A member record of format 2: plain CRC-32C, no seal.</summary>
    private static byte[] Format2Record(long id, long version, string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload);
        var record = new byte[RecordFrame.SizeOf(bytes.Length)];
        RecordFrame.Write(record, MessageStore.Format, 0, new LogRecord(1, id, version, bytes));
        record[2] = 2;
        var body = record.AsSpan(0, record.Length - RecordFrame.TrailerSize);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(body.Length), RecordFrame.Checksum(body));
        return record;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_member_log_of_format_2_is_read_and_extended_with_sealed_records()
    {
        await File.WriteAllBytesAsync(Path.Combine(_dir, "0000000001.seg"), [.. Format2Record(1, 10, "old one"), .. Format2Record(2, 11, "old two")], Ct);

        await using (var store = MessageStore.Open(_dir, new MessageStoreOptions(), NullLogger.Instance))
        {
            Assert.Equal(0, store.Log.CorruptRecords);
            Assert.Equal("old one", Encoding.UTF8.GetString((await store.ReadAsync(1, Ct))!.Value.Payload));
            await store.StoreAsync(3, 12, "new three"u8.ToArray());
        }

        Assert.True(File.Exists(Path.Combine(_dir, LogSeal.FileName)));
        await using var reopened = MessageStore.Open(_dir, new MessageStoreOptions(), NullLogger.Instance);
        Assert.Equal(0, reopened.Log.CorruptRecords);
        Assert.Equal("old two", Encoding.UTF8.GetString((await reopened.ReadAsync(2, Ct))!.Value.Payload));
        Assert.Equal("new three", Encoding.UTF8.GetString((await reopened.ReadAsync(3, Ct))!.Value.Payload));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_leader_index_of_format_1_is_read_and_its_members_are_bound_at_their_next_registration()
    {
        // A format-1 member record: number and address, no identity.
        var address = Encoding.UTF8.GetBytes("https://localhost:5001");
        var record = new byte[8 + 4 + address.Length + 4];
        "TI"u8.CopyTo(record);
        record[2] = 1;
        record[3] = 3; // member
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), 4 + address.Length);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), 7);
        address.CopyTo(record, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(record.Length - 4), RecordFrame.Checksum(record.AsSpan(0, record.Length - 4)));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "0000000001" + LegacyIndexFormat.LogSuffix), record, Ct);

        await using (var leader = await OpenLeaderAsync(_dir))
        {
            Assert.True(leader.Registry.TryGet(7, out var member));
            Assert.Equal(("https://localhost:5001", ""), (member.Address, member.Identity));
            // What a registration does: the first identity binds the address, durably; others are refused.
            Assert.True(member.TryBind("member7"));
            Assert.False(member.TryBind("member8"));
            await leader.Index.RecordMemberAsync(member);
        }

        await using var restarted = await OpenLeaderAsync(_dir);
        Assert.True(restarted.Registry.TryGet(7, out var bound));
        Assert.Equal("member7", bound.Identity);
    }
}
