using System.ComponentModel.DataAnnotations;
using Tolerex.Storage;

namespace Tolerex.Member.Store;

/// <summary>How the member keeps its copies; bound from <c>Tolerex:Member</c> beside <see cref="Configuration.MemberOptions"/>.</summary>
internal sealed class MessageStoreOptions
{
    /// <summary>Where this member keeps its messages, reused across restarts; empty means <c>data/member-&lt;port&gt;</c>.</summary>
    public string DataDir { get; set; } = "";
    public IoMode Io { get; set; } = IoMode.Buffered;
    public Durability Durability { get; set; } = Durability.Fsync;
    /// <summary>A segment is sealed and a new one started once it reaches this size.</summary>
    [Range(4096, 1L << 30)]
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>Zero-filled space kept ahead of the active segment's end (0 = none), so each sync overwrites allocated blocks.</summary>
    [Range(0, 1L << 30)]
    public long PreallocateBytes { get; set; } = 4L * 1024 * 1024;
    /// <summary>Compaction starts when this share of the log (in percent) is dead: overwritten or deleted records…</summary>
    [Range(1, 99)]
    public int CompactionThresholdPercent { get; set; } = 50;
    /// <summary>…and at least this many bytes are dead.</summary>
    [Range(0, long.MaxValue)]
    public long CompactionMinBytes { get; set; } = 16L * 1024 * 1024;
}

[Microsoft.Extensions.Options.OptionsValidator]
internal sealed partial class MessageStoreOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<MessageStoreOptions>;
