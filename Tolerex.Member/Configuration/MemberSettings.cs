using Tolerex.Protocol.Storage;
using Tolerex.Member.Storage;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member.Configuration;

/// <summary>
/// Reads <see cref="MemberOptions"/> from .NET configuration and maps the original's flags
/// (<c>-port</c>, <c>-metrics</c>, <c>-io</c>) and environment names (<c>MEMBER_GRPC_PORT</c>,
/// <c>MEMBER_METRICS_PORT</c>, <c>MEMBER_IO_MODE</c>, <c>LEADER_ADDR</c>, <c>MEMBER_ADDR</c>) onto it.
/// </summary>
internal static class MemberSettings
{
    /// <summary>Command-line switches, in both the original's single-dash form and the usual double-dash form.</summary>
    public static readonly IDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["-port"] = $"{MemberOptions.Section}:Port",
        ["--port"] = $"{MemberOptions.Section}:Port",
        ["-metrics"] = $"{MemberOptions.Section}:MetricsPort",
        ["--metrics"] = $"{MemberOptions.Section}:MetricsPort",
        ["-io"] = $"{MemberOptions.Section}:Io",
        ["--io"] = $"{MemberOptions.Section}:Io",
        ["-data-dir"] = $"{MemberOptions.Section}:DataDir",
        ["--data-dir"] = $"{MemberOptions.Section}:DataDir",
        ["-durability"] = $"{MemberOptions.Section}:Durability",
        ["--durability"] = $"{MemberOptions.Section}:Durability",
    };

    /// <summary>Aspire's service-discovery key for the leader's "grpc" endpoint (set by WithReference).</summary>
    public const string DiscoveredLeaderKey = "services:leader:grpc:0";

    public static MemberOptions Load(IConfiguration configuration)
    {
        var reader = new SettingReader(configuration, MemberOptions.Section);
        var d = new MemberOptions();
        var port = reader.Port("Port", "MEMBER_GRPC_PORT", d.Port);
        return new MemberOptions
        {
            Port = port,
            MetricsPort = reader.Port("MetricsPort", "MEMBER_METRICS_PORT", d.MetricsPort),
            Io = ParseIo(reader.Raw("Io", "MEMBER_IO_MODE")),
            Durability = ParseDurability(reader.Raw("Durability", null)),
            SegmentBytes = reader.Number("SegmentBytes", d.SegmentBytes, 4096, 1L << 30),
            PreallocateBytes = reader.Number("PreallocateBytes", d.PreallocateBytes, 0, 1L << 30),
            CompactionThreshold = reader.Number("CompactionThresholdPercent", (long)(d.CompactionThreshold * 100), 1, 99) / 100.0,
            CompactionMinBytes = reader.Number("CompactionMinBytes", d.CompactionMinBytes, 0, long.MaxValue),
            DataDir = reader.Raw("DataDir", null) ?? Path.Combine("data", $"member-{port}"),
            LeaderAddress = reader.Raw("LeaderAddress", "LEADER_ADDR") ?? configuration[DiscoveredLeaderKey] ?? d.LeaderAddress,
            AdvertiseAddress = reader.Raw("AdvertiseAddress", "MEMBER_ADDR") ?? $"https://localhost:{port}",
            Name = ParseName(reader.Raw("Name", "OTEL_SERVICE_NAME") ?? $"member-{port}"),
            MaxMessageBytes = (int)reader.Number("MaxMessageBytes", d.MaxMessageBytes, 1024, 1024L * 1024 * 1024),
            MaxRetryDelay = reader.Duration("MaxRetryDelay", d.MaxRetryDelay),
            CallTimeout = reader.Duration("CallTimeout", d.CallTimeout),
        };
    }

    /// <summary>The name is the member's identity (its certificate's CN) and must be a valid one.</summary>
    private static string ParseName(string name) => PeerIdentity.IsValidName(name)
        ? name
        : throw new ConfigurationException($"{MemberOptions.Section}:Name must be 1-{PeerIdentity.MaxNameLength} letters, digits, '.', '_' or '-' (got '{name}')");

    internal static Durability ParseDurability(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "fsync" => Durability.Fsync,
        "os" => Durability.Os,
        _ => throw new ConfigurationException($"durability must be fsync or os (got '{value}')"),
    };

    internal static IoMode ParseIo(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "buffered" => IoMode.Buffered,
        "unbuffered" => IoMode.Unbuffered,
        _ => throw new ConfigurationException($"io must be buffered or unbuffered (got '{value}')"),
    };
}
