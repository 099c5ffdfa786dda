using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Member.Configuration;
using Tolerex.Member.Store;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.Storage;

namespace Tolerex.Tests.Unit.Configuration;

/// <summary>
/// Node settings built the way the programs build them: appsettings-style keys, the original's environment names
/// and flags, the command line, binding, validation, and the one-line error a bad value gets.
/// </summary>
public class ConfigurationTests
{
    private sealed record Node(ConfigurationManager Configuration, ServiceProvider Services) : IDisposable
    {
        public T Options<T>() where T : class => Services.GetRequiredService<IOptions<T>>().Value;

        public void Dispose() => Services.Dispose();
    }

    private static Node Leader(string[]? args = null, Dictionary<string, string>? environment = null, params (string Key, string Value)[] settings)
    {
        var configuration = Settings(settings);
        configuration.AddLeaderConfiguration(args ?? [], name => environment?.GetValueOrDefault(name));
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLeaderOptions();
        return new Node(configuration, services.BuildServiceProvider());
    }

    private static Node Member(string[]? args = null, Dictionary<string, string>? environment = null, params (string Key, string Value)[] settings)
    {
        var configuration = Settings(settings);
        configuration.AddMemberConfiguration(args ?? [], name => environment?.GetValueOrDefault(name));
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddMemberOptions();
        return new Node(configuration, services.BuildServiceProvider());
    }

    /// <summary>What appsettings.json (and <c>Tolerex__*</c> variables) would hold.</summary>
    private static ConfigurationManager Settings((string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        return configuration;
    }

    /// <summary>The one line a node prints for a bad leader setting.</summary>
    private static string LeaderError(Dictionary<string, string>? environment = null, params (string Key, string Value)[] settings) =>
        Error(Settings(settings), LeaderConfiguration.Aliases,
            c => c.AddLeaderConfiguration([], name => environment?.GetValueOrDefault(name)), s => s.AddLeaderOptions());

    /// <summary>Builds and validates a node's settings the way the program does, expecting a failure; its one-line description.</summary>
    private static string Error(ConfigurationManager configuration, SettingAliases aliases, Action<ConfigurationManager> add, Func<IServiceCollection, IServiceCollection> bind)
    {
        var error = Assert.ThrowsAny<Exception>(() =>
        {
            add(configuration);
            using var services = bind(new ServiceCollection().AddSingleton<IConfiguration>(configuration)).BuildServiceProvider();
            services.GetRequiredService<IStartupValidator>().Validate();
        });
        return NodeConfiguration.Describe(error, configuration, aliases) ?? throw new InvalidOperationException("not described", error);
    }

    [Theory]
    [InlineData("TOLERANCE=3", 3)]
    [InlineData("TOLERANCE=2\n", 2)]
    [InlineData("  TOLERANCE = 7  ", 7)]
    public void Tolerance_file_accepts_the_originals_format(string content, int expected) =>
        Assert.Equal(expected, ToleranceFile.Parse(content));

    [Theory]
    [InlineData("INVALID=3", "invalid tolerance.conf format")]
    [InlineData("TOLERANCE", "invalid tolerance.conf format")]
    [InlineData("TOLERANCE=-1", "greater than 0")]
    [InlineData("TOLERANCE=0", "greater than 0")]
    [InlineData("TOLERANCE=two", "valid integer")]
    [InlineData("TOLERANCE=2\nEXTRA=1", "valid integer")]
    public void Tolerance_file_rejects_bad_content(string content, string message)
    {
        var e = Assert.Throws<ConfigurationException>(() => ToleranceFile.Parse(content));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leader_reads_the_originals_environment_names()
    {
        using var node = Leader(environment: new()
        {
            ["LEADER_GRPC_PORT"] = "6001",
            ["LEADER_TCP_PORT"] = "6002",
            ["LEADER_METRICS_PORT"] = "6003",
            ["TOLERANCE"] = "3",
            ["BALANCER_STRATEGY"] = "p2c",
            ["TOLEREX_PASSWORD"] = "secret"
        });
        var o = node.Options<LeaderOptions>();
        Assert.Equal((6001, 6002, 6003, 3, BalancerStrategy.PowerOfTwoChoices, "secret"), (o.GrpcPort, o.TcpPort, o.MetricsPort, o.Tolerance, o.Balancer, o.Password));
    }

    [Fact]
    public void Section_keys_win_over_original_names_and_durations_take_units()
    {
        using var node = Leader(environment: new() { ["TOLERANCE"] = "3" }, settings: [("Tolerex:Leader:Tolerance", "4"), ("Tolerex:Leader:MemberTimeout", "1500ms"),
            ("Tolerex:Leader:StoreTimeout", "00:00:05"), ("Tolerex:Leader:ReadAttemptTimeout", "2s"), ("Tolerex:Leader:PartialLineTimeout", "1m"),
            ("Tolerex:Leader:IdleTimeout", "off"), ("Tolerex:Leader:ReplaceAfter", "2h"), ("Tolerex:Leader:MaxLineBytes", "1024"), ("Tolerex:Leader:Durability", "os")]);
        var o = node.Options<LeaderOptions>();
        Assert.Equal(4, o.Tolerance);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.MemberTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), o.StoreTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), o.ReadAttemptTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), o.PartialLineTimeout);
        Assert.Equal(TimeSpan.Zero, o.IdleTimeout);
        Assert.Equal(TimeSpan.FromHours(2), o.ReplaceAfter);
        Assert.Equal(1024, o.MaxLineBytes);
        Assert.Equal(Durability.Os, o.Durability);
    }

    [Fact]
    public void The_command_line_wins_over_everything_and_takes_the_originals_flags()
    {
        using var node = Leader(["--data-dir", "/srv/leader", "--Tolerex:Leader:TcpPort=7777"], new() { ["LEADER_TCP_PORT"] = "6002" },
            ("Tolerex:Leader:DataDir", "/elsewhere"));
        var o = node.Options<LeaderOptions>();
        Assert.Equal(("/srv/leader", 7777), (o.DataDir, o.TcpPort));
    }

    [Fact]
    public void Leader_reads_the_tolerance_file_named_by_tolerance_conf_unless_tolerance_is_set()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "TOLERANCE=5");
            using (var named = Leader(environment: new() { ["TOLERANCE_CONF"] = file }))
                Assert.Equal(5, named.Options<LeaderOptions>().Tolerance);
            using (var both = Leader(environment: new() { ["TOLERANCE_CONF"] = file, ["TOLERANCE"] = "2" }))
                Assert.Equal(2, both.Options<LeaderOptions>().Tolerance);
            var missing = LeaderError(new() { ["TOLERANCE_CONF"] = file + ".missing" });
            Assert.Contains("cannot read tolerance file", missing, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("TOLERANCE", "0", "Tolerex:Leader:Tolerance (TOLERANCE) must be between 1 and 1000 (got '0')")]
    [InlineData("TOLERANCE", "abc", "Tolerex:Leader:Tolerance (TOLERANCE) must be a whole number (got 'abc')")]
    [InlineData("LEADER_TCP_PORT", "70000", "Tolerex:Leader:TcpPort (LEADER_TCP_PORT) must be between 0 and 65535 (got '70000')")]
    [InlineData("LEADER_GRPC_PORT", "x", "Tolerex:Leader:GrpcPort (LEADER_GRPC_PORT) must be a whole number (got 'x')")]
    [InlineData("BALANCER_STRATEGY", "random", "Tolerex:Leader:Balancer (BALANCER_STRATEGY) must be least_loaded or p2c (got 'random')")]
    public void Bad_original_values_get_one_line_naming_the_key_and_the_original_name(string variable, string value, string expected) =>
        Assert.Equal(expected, LeaderError(new() { [variable] = value }));

    [Theory]
    [InlineData("MemberTimeout", "soon", "Tolerex:Leader:MemberTimeout must be a duration such as 500ms, 2s, 1m, 1h or 00:00:02 (got 'soon')")]
    [InlineData("StoreTimeout", "0", "Tolerex:Leader:StoreTimeout must be a positive duration such as 500ms, 2s or 00:00:02 (got '0')")]
    [InlineData("MaxLineBytes", "1", "Tolerex:Leader:MaxLineBytes must be between 64 and 536870912 (got '1')")]
    [InlineData("Durability", "sometimes", "Tolerex:Leader:Durability must be fsync or os (got 'sometimes')")]
    [InlineData("TcpListenAddress", "example.org", "Tolerex:Leader:TcpListenAddress must be localhost or an IP address (got 'example.org')")]
    [InlineData("Tls", "maybe", "Tolerex:Leader:Tls must be true or false (got 'maybe')")]
    public void Bad_values_get_one_line_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, LeaderError(settings: [($"Tolerex:Leader:{key}", value)]));

    [Theory]
    [InlineData("--prot", "unknown option '--prot'")]
    [InlineData("-x", "unknown option '-x'")]
    [InlineData("stray", "unexpected argument 'stray'")]
    public void A_mistyped_command_line_stops_the_node_instead_of_being_ignored(string arg, string expected) =>
        Assert.Equal(expected, Error(new ConfigurationManager(), LeaderConfiguration.Aliases, c => c.AddLeaderConfiguration([arg, "5556"], _ => null), s => s.AddLeaderOptions()));

    [Theory]
    [InlineData("2", "Tolerex:Leader:StoreTimeout must be a duration such as 500ms, 2s, 1m, 1h or 00:00:02 (got '2')")]
    [InlineData("ftp", "Tolerex:Leader:StoreTimeout must be a duration such as 500ms, 2s, 1m, 1h or 00:00:02 (got 'ftp')")]
    public void A_duration_needs_a_unit_or_a_timespan(string value, string expected) =>
        Assert.Equal(expected, LeaderError(settings: [("Tolerex:Leader:StoreTimeout", value)]));

    [Fact]
    public void An_empty_password_is_no_password()
    {
        using var node = Leader(settings: [("Tolerex:Leader:Password", "")]);
        Assert.Null(node.Options<LeaderOptions>().Password);
    }

    [Theory]
    [InlineData("Tolerex:Member:Leader", "ftp://x", "Tolerex:Member:Leader (LEADER_ADDR) must be host:port or https://host:port, or several of them comma-separated (got 'ftp://x')")]
    [InlineData("Tolerex:Member:Leader", "a:1,ftp://x", "Tolerex:Member:Leader (LEADER_ADDR) must be host:port or https://host:port, or several of them comma-separated (got 'a:1,ftp://x')")]
    [InlineData("Tolerex:Member:Leader", " , ", "Tolerex:Member:Leader (LEADER_ADDR) must be host:port or https://host:port, or several of them comma-separated (got ' , ')")]
    [InlineData("Tolerex:Member:AdvertiseAddress", "a b", "Tolerex:Member:AdvertiseAddress (MEMBER_ADDR) must be host:port or https://host:port (got 'a b')")]
    public void A_member_address_a_channel_cannot_dial_is_refused(string key, string value, string expected) =>
        Assert.Equal(expected, Error(Settings([(key, value)]), MemberConfiguration.Aliases, c => c.AddMemberConfiguration([], _ => null), s => s.AddMemberOptions()));

    [Theory]
    [InlineData("localhost:6002,localhost:6003", "none of them is this node (port 6001 on this machine)")]
    [InlineData("localhost:6001,127.0.0.1:6001", "several of them could be this node (https://localhost:6001/tolerex/consensus, https://127.0.0.1:6001/tolerex/consensus)")]
    [InlineData("localhost:6001,localhost:6001", "names a node twice")]
    [InlineData("localhost:6001,ftp://x", "'ftp://x' is not a valid node address (expected host:port or https://host:port)")]
    public void A_leader_group_this_node_is_not_exactly_one_of_is_refused(string peers, string why) =>
        Assert.Equal($"Tolerex:Leader:Peers (LEADER_PEERS) must be the host:port gRPC addresses of every leader node, this one included, comma-separated: {why} (got '{peers}')",
            LeaderError(new() { ["LEADER_PEERS"] = peers, ["LEADER_GRPC_PORT"] = "6001" }));

    [Fact]
    public void A_leader_finds_itself_among_its_peers_by_its_grpc_port_on_this_machine()
    {
        using var node = Leader(settings: [("Tolerex:Leader:Peers", "localhost:6001, localhost:6002,localhost:6003"), ("Tolerex:Leader:GrpcPort", "6002")]);
        var group = Tolerex.Leader.Consensus.LeaderGroup.From(node.Options<LeaderOptions>());
        Assert.Equal("https://localhost:6002/tolerex/consensus", group.Self.ToString());
        Assert.Equal(3, group.Peers.Count);
        Assert.False(group.Alone);
        Assert.True(Tolerex.Leader.Consensus.LeaderGroup.From(new LeaderOptions()).Alone);
    }

    [Fact]
    public void A_leader_in_a_container_finds_itself_among_its_peers_by_its_name()
    {
        // Every node listens on the same port in its own container; peers are service names, this node's among them.
        using var node = Leader(settings: [("Tolerex:Leader:Peers", "leader1:5555,leader2.tolerex.svc:5555,leader3:5555"), ("Tolerex:Leader:GrpcPort", "5555"),
            ("Tolerex:Leader:Name", "leader2")]);
        Assert.Equal("https://leader2.tolerex.svc:5555/tolerex/consensus", Tolerex.Leader.Consensus.LeaderGroup.From(node.Options<LeaderOptions>()).Self.ToString());
    }

    [Fact]
    public void A_member_takes_every_node_of_a_leader_group_in_order()
    {
        using var node = Member(settings: [("Tolerex:Member:Leader", "leader-0:5555, https://leader-1:5555,leader-2:5555")]);
        Assert.Equal(["leader-0:5555", "https://leader-1:5555", "leader-2:5555"], node.Options<MemberOptions>().LeaderAddresses);
    }

    [Fact]
    public void Settings_that_depend_on_each_other_are_checked_together() =>
        Assert.StartsWith("Tolerex:Leader:MemberTimeout must be longer than HeartbeatInterval",
            LeaderError(settings: [("Tolerex:Leader:MemberTimeout", "1s"), ("Tolerex:Leader:HeartbeatInterval", "2s")]), StringComparison.Ordinal);

    [Fact]
    public void Member_accepts_single_and_double_dash_flags_and_original_env_names()
    {
        using (var single = Member(["-port=7001", "-metrics", "7002", "-io=unbuffered"]))
        {
            var o = single.Options<MemberOptions>();
            var store = single.Options<MessageStoreOptions>();
            Assert.Equal((7001, 7002, IoMode.Unbuffered), (o.Port, o.MetricsPort, store.Io));
            Assert.Equal(Path.Combine("data", "member-7001"), store.DataDir);
            Assert.Equal("https://localhost:7001", o.AdvertiseAddress);
            Assert.Equal("member-7001", o.Name);
        }

        using var dbl = Member(["--port", "7003", "--data-dir", "/tmp/x"], new() { ["LEADER_ADDR"] = "leader:5555", ["MEMBER_ADDR"] = "10.0.0.5:7003", ["OTEL_SERVICE_NAME"] = "member3" });
        var d = dbl.Options<MemberOptions>();
        Assert.Equal((7003, "/tmp/x", "leader:5555", "10.0.0.5:7003", "member3"), (d.Port, dbl.Options<MessageStoreOptions>().DataDir, d.Leader, d.AdvertiseAddress, d.Name));
    }

    [Fact]
    public void Member_storage_settings_come_from_the_member_section()
    {
        using var node = Member(settings: [("Tolerex:Member:SegmentBytes", "8192"), ("Tolerex:Member:CompactionThresholdPercent", "30"), ("Tolerex:Member:Durability", "os")]);
        var store = node.Options<MessageStoreOptions>();
        Assert.Equal((8192L, 30, Durability.Os), (store.SegmentBytes, store.CompactionThresholdPercent, store.Durability));
    }

    [Theory]
    [InlineData("-io=turbo", "Tolerex:Member:Io (MEMBER_IO_MODE) must be buffered or unbuffered (got 'turbo')")]
    [InlineData("--port=99999", "Tolerex:Member:Port (MEMBER_GRPC_PORT) must be between 0 and 65535 (got '99999')")]
    public void Member_rejects_bad_values_with_one_line(string flag, string expected) =>
        Assert.Equal(expected, Error(new ConfigurationManager(), MemberConfiguration.Aliases, c => c.AddMemberConfiguration([flag], _ => null), s => s.AddMemberOptions()));
}
