using Microsoft.Extensions.Configuration;
using Tolerex.Leader.Configuration;
using Tolerex.Member.Configuration;
using Tolerex.Member.Storage;
using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.Tests.Leader;

public class ConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

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
        var o = LeaderSettings.Load(Config(("LEADER_GRPC_PORT", "6001"), ("LEADER_TCP_PORT", "6002"), ("LEADER_METRICS_PORT", "6003"),
            ("TOLERANCE", "3"), ("BALANCER_STRATEGY", "p2c")));
        Assert.Equal((6001, 6002, 6003, 3, BalancerStrategy.PowerOfTwoChoices), (o.GrpcPort, o.TcpPort, o.MetricsPort, o.Tolerance, o.Balancer));
    }

    [Fact]
    public void Leader_section_keys_win_over_original_names_and_durations_take_units()
    {
        var o = LeaderSettings.Load(Config(("TOLERANCE", "3"), ("Tolerex:Leader:Tolerance", "4"), ("Tolerex:Leader:MemberTimeout", "1500ms"),
            ("Tolerex:Leader:StoreTimeout", "00:00:05"), ("Tolerex:Leader:MaxLineBytes", "1024")));
        Assert.Equal(4, o.Tolerance);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.MemberTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), o.StoreTimeout);
        Assert.Equal(1024, o.MaxLineBytes);
    }

    [Fact]
    public void Leader_reads_the_tolerance_file_named_by_tolerance_conf()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "TOLERANCE=5");
            Assert.Equal(5, LeaderSettings.Load(Config(("TOLERANCE_CONF", file))).Tolerance);
            var missing = Assert.Throws<ConfigurationException>(() => LeaderSettings.Load(Config(("TOLERANCE_CONF", file + ".missing"))));
            Assert.Contains("cannot read tolerance file", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("TOLERANCE", "0")]
    [InlineData("TOLERANCE", "abc")]
    [InlineData("LEADER_TCP_PORT", "70000")]
    [InlineData("LEADER_GRPC_PORT", "x")]
    [InlineData("BALANCER_STRATEGY", "random")]
    [InlineData("Tolerex:Leader:MemberTimeout", "soon")]
    [InlineData("Tolerex:Leader:MaxLineBytes", "1")]
    public void Leader_rejects_bad_values_with_a_message_naming_them(string key, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => LeaderSettings.Load(Config((key, value))));
        Assert.NotEmpty(e.Message);
    }

    [Fact]
    public void Member_accepts_single_and_double_dash_flags_and_original_env_names()
    {
        var single = new ConfigurationBuilder().AddCommandLine(["-port=7001", "-metrics", "7002", "-io=unbuffered"], MemberSettings.SwitchMappings).Build();
        var o = MemberSettings.Load(single);
        Assert.Equal((7001, 7002, IoMode.Unbuffered), (o.Port, o.MetricsPort, o.Io));
        Assert.Equal(Path.Combine("data", "member-7001"), o.DataDir);
        Assert.Equal("https://localhost:7001", o.AdvertiseAddress);

        var dbl = new ConfigurationBuilder()
            .AddInMemoryCollection([new("LEADER_ADDR", "leader:5555"), new("MEMBER_ADDR", "10.0.0.5:7003")])
            .AddCommandLine(["--port", "7003", "--data-dir", "/tmp/x"], MemberSettings.SwitchMappings).Build();
        var d = MemberSettings.Load(dbl);
        Assert.Equal((7003, "/tmp/x", "leader:5555", "10.0.0.5:7003"), (d.Port, d.DataDir, d.LeaderAddress, d.AdvertiseAddress));
    }

    [Fact]
    public void Member_finds_the_leader_through_aspire_service_discovery()
    {
        var o = MemberSettings.Load(Config(("services:leader:grpc:0", "http://localhost:41000")));
        Assert.Equal("http://localhost:41000", o.LeaderAddress);
    }

    [Fact]
    public void Member_rejects_an_unknown_io_mode() =>
        Assert.Throws<ConfigurationException>(() => MemberSettings.Load(Config(("MEMBER_IO_MODE", "turbo"))));
}
