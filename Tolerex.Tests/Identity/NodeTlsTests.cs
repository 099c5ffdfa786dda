using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Identity;

/// <summary>Loading, generating and checking certificates, on real files.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-tls-").FullName;

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("Tolerex:Tls:" + v.Key, v.Value))).Build();

    /// <summary>A CA and a node certificate saved as PEM files, valid from <paramref name="issuedAt"/> for <paramref name="lifetime"/>.</summary>
    private (string Ca, string Certificate, string Key) Files(PeerIdentity identity, DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        using var ca = CertificateAuthority.Create("test CA", issuedAt, TimeSpan.FromDays(3650));
        using var node = ca.Issue(identity, issuedAt, lifetime);
        var paths = (Path.Combine(_dir, "ca.crt"), Path.Combine(_dir, "node.crt"), Path.Combine(_dir, "node.key"));
        ca.Save(paths.Item1, Path.Combine(_dir, "ca.key"));
        CertificateAuthority.SaveNode(node, paths.Item2, paths.Item3);
        return paths;
    }

    [Fact]
    public void The_development_ca_is_created_once_with_owner_only_keys_and_shared_by_concurrent_nodes()
    {
        var dir = Path.Combine(_dir, "dev");
        var thumbprints = Enumerable.Range(0, 8).AsParallel().Select(i =>
            NodeTls.Load(Config(("DevCaDirectory", dir)), new PeerIdentity(NodeRole.Member, $"m{i}")).Authority.Thumbprint).ToList();
        Assert.Single(thumbprints.Distinct());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
    }

    [Fact]
    public void Issued_certificates_carry_their_identity_and_are_trusted_only_under_their_own_ca()
    {
        var member = NodeTls.Load(Config(("DevCaDirectory", Path.Combine(_dir, "a"))), new PeerIdentity(NodeRole.Member, "member7"));
        var leader = NodeTls.Load(Config(("DevCaDirectory", Path.Combine(_dir, "a"))), PeerIdentity.Leader);
        var stranger = NodeTls.Load(Config(("DevCaDirectory", Path.Combine(_dir, "b"))), PeerIdentity.Leader);

        Assert.Equal(new PeerIdentity(NodeRole.Member, "member7"), member.Identity);
        Assert.True(leader.TryValidate(member.Certificate, TlsPurpose.Client, out var seen, out _));
        Assert.Equal(member.Identity, seen);
        Assert.False(leader.TryValidate(stranger.Certificate, TlsPurpose.Server, out _, out var reason));
        Assert.NotEmpty(reason);
        Assert.False(leader.TryValidate(null, TlsPurpose.Client, out _, out _));
    }

    [Fact]
    public void Configured_pem_files_are_used_and_their_role_must_match_the_node()
    {
        var (ca, certificate, key) = Files(new PeerIdentity(NodeRole.Member, "m1"), DateTimeOffset.UtcNow, TimeSpan.FromDays(365));
        var config = Config(("CaCertificate", ca), ("Certificate", certificate), ("Key", key));
        Assert.Equal(new PeerIdentity(NodeRole.Member, "m1"), NodeTls.Load(config, new PeerIdentity(NodeRole.Member, "ignored")).Identity);
        var e = Assert.Throws<ConfigurationException>(() => NodeTls.Load(config, PeerIdentity.Leader));
        Assert.Contains("needs a leader certificate", e.Message, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public void Partial_or_unreadable_configuration_is_a_clear_error()
    {
        var partial = Assert.Throws<ConfigurationException>(() => NodeTls.Load(Config(("Certificate", "/x.crt")), PeerIdentity.Leader));
        Assert.Contains("set all of CaCertificate, Certificate and Key", partial.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ConfigurationException>(() =>
            NodeTls.Load(Config(("CaCertificate", Path.Combine(_dir, "none.crt")), ("Certificate", "/x.crt"), ("Key", "/x.key")), PeerIdentity.Leader));
        Assert.Contains("cannot read", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_certificate_stops_start_up_and_one_about_to_expire_warns()
    {
        var (ca, certificate, key) = Files(PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-100), TimeSpan.FromDays(90));
        var expired = Assert.Throws<ConfigurationException>(() => NodeTls.Load(Config(("CaCertificate", ca), ("Certificate", certificate), ("Key", key)), PeerIdentity.Leader));
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);

        (ca, certificate, key) = Files(PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-80), TimeSpan.FromDays(90));
        var soon = NodeTls.Load(Config(("CaCertificate", ca), ("Certificate", certificate), ("Key", key)), PeerIdentity.Leader);
        Assert.Contains(soon.Notes, n => n.StartsWith("WARNING", StringComparison.Ordinal) && n.Contains("expires in", StringComparison.Ordinal));
    }

    [Fact]
    public void An_expired_development_ca_is_replaced()
    {
        var dir = Path.Combine(_dir, "old");
        using (var old = CertificateAuthority.LoadOrCreateDevelopment(dir, DateTimeOffset.UtcNow.AddDays(-6 * 365), TimeSpan.Zero, out var created))
            Assert.True(created);
        using var renewed = CertificateAuthority.LoadOrCreateDevelopment(dir, DateTimeOffset.UtcNow, NodeTls.ExpiryWarning, out var replaced);
        Assert.True(replaced);
        Assert.True(renewed.Certificate.NotAfter > DateTime.Now.AddYears(4));
    }

    [Fact]
    public async Task A_node_with_an_expired_certificate_exits_with_a_clear_message()
    {
        var (ca, certificate, key) = Files(PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-100), TimeSpan.FromDays(90));
        var (exit, _, error) = await TestEnvironment.RunAsync(TestEnvironment.DotnetHost, [TestEnvironment.Beside("Tolerex.Leader.dll")], TimeSpan.FromSeconds(60),
            environment: new Dictionary<string, string> { ["Tolerex__Tls__CaCertificate"] = ca, ["Tolerex__Tls__Certificate"] = certificate, ["Tolerex__Tls__Key"] = key });
        Assert.Equal(2, exit);
        Assert.Contains("expired on", error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
