using Tolerex.Protocol.Storage;
using Tolerex.Member.Storage;

namespace Tolerex.Member.Configuration;

/// <summary>Every member setting with its default. Bound from the <c>Tolerex:Member</c> section.</summary>
internal sealed class MemberOptions
{
    public const string Section = "Tolerex:Member";

    public int Port { get; set; } = 5556;
    public int MetricsPort { get; set; } = 9092;
    public IoMode Io { get; set; } = IoMode.Buffered;
    /// <summary>fsync (ack after the sync that covers a write) or os (ack after hand-off to the OS).</summary>
    public Durability Durability { get; set; } = Durability.Fsync;
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>Zero-filled space kept ahead of the active segment's end (0 = none), so each sync overwrites allocated blocks.</summary>
    public long PreallocateBytes { get; set; } = 4L * 1024 * 1024;
    public double CompactionThreshold { get; set; } = 0.5;
    public long CompactionMinBytes { get; set; } = 16L * 1024 * 1024;
    /// <summary>Where this member keeps its messages; reused across restarts.</summary>
    public string DataDir { get; set; } = "";
    /// <summary>The leader's gRPC address (host:port or URL).</summary>
    public string LeaderAddress { get; set; } = "localhost:5555";
    /// <summary>The address this member advertises; the leader dials exactly this.</summary>
    public string AdvertiseAddress { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>Largest gRPC message accepted: the leader's maximum line plus framing.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024 + 64 * 1024;
    /// <summary>Longest wait between registration attempts while the leader is unreachable.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Deadline of each register/heartbeat call.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
