using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Member.Storage;
using Tolerex.Protocol.Storage;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Storage;

/// <summary>Data written by the previous on-disk formats is still read after an upgrade.</summary>
public sealed class FormatUpgradeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-upgrade-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A member record of format 2: plain CRC-32C, no seal.</summary>
    private static byte[] Format2Record(long id, long version, string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload);
        var record = new byte[LogRecord.SizeOf(bytes.Length)];
        LogRecord.Write(record, 0, RecordKind.Value, id, version, bytes);
        record[2] = 2;
        var body = record.AsSpan(0, record.Length - LogRecord.TrailerSize);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(body.Length), Crc32C.Compute(body));
        return record;
    }

    [Fact]
    public async Task A_member_log_of_format_2_is_read_and_extended_with_sealed_records()
    {
        await File.WriteAllBytesAsync(Path.Combine(_dir, "0000000001.seg"), [.. Format2Record(1, 10, "old one"), .. Format2Record(2, 11, "old two")], Ct);

        await using (var store = LogStore.Open(_dir, new LogStoreOptions(), NullLogger<LogStore>.Instance))
        {
            Assert.Equal(0, store.CorruptRecords);
            Assert.Equal("old one", Encoding.UTF8.GetString((await store.ReadAsync(1, Ct))!.Value.Payload));
            await store.StoreAsync(3, 12, "new three"u8.ToArray(), Ct);
        }

        Assert.True(File.Exists(Path.Combine(_dir, LogSeal.FileName)));
        await using var reopened = LogStore.Open(_dir, new LogStoreOptions(), NullLogger<LogStore>.Instance);
        Assert.Equal(0, reopened.CorruptRecords);
        Assert.Equal("old two", Encoding.UTF8.GetString((await reopened.ReadAsync(2, Ct))!.Value.Payload));
        Assert.Equal("new three", Encoding.UTF8.GetString((await reopened.ReadAsync(3, Ct))!.Value.Payload));
    }

    [Fact]
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
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(record.Length - 4), Crc32C.Compute(record.AsSpan(0, record.Length - 4)));
        var options = new LeaderOptions { DataDir = _dir };
        await File.WriteAllBytesAsync(Path.Combine(_dir, "0000000001" + IndexLog.LogSuffix), record, Ct);
        var tls = NodeTls.CreateEphemeral(PeerIdentity.Leader);

        using (var registry = new MemberRegistry(options, tls, NullLogger<MemberRegistry>.Instance))
        {
            var log = new IndexLog(new MessageIndex(), registry, options, NullLogger<IndexLog>.Instance);
            log.Open();
            Assert.True(registry.TryGet(7, out var member));
            Assert.Equal(("https://localhost:5001", ""), (member.Address, member.Identity));
            // What a registration does: the first identity binds the address, durably; others are refused.
            Assert.True(member.TryBind("member7"));
            Assert.False(member.TryBind("member8"));
            await log.AddMemberAsync(member);
            await log.DisposeAsync();
        }

        using var restarted = new MemberRegistry(options, tls, NullLogger<MemberRegistry>.Instance);
        var recovered = new IndexLog(new MessageIndex(), restarted, options, NullLogger<IndexLog>.Instance);
        recovered.Open();
        Assert.True(restarted.TryGet(7, out var bound));
        Assert.Equal("member7", bound.Identity);
        await recovered.DisposeAsync();
    }
}
