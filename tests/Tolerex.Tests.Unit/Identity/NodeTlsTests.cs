using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Unit.Identity;

/// <summary>Loading, generating and checking certificates, on real files.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-tls-").FullName;

    private (string Ca, string Certificate, string Key) Files(PeerIdentity identity, DateTimeOffset issuedAt, TimeSpan lifetime) =>
        TestCertificates.Write(_dir, identity, issuedAt, lifetime);

    [Fact]
    public void The_development_ca_is_created_once_with_owner_only_keys_and_shared_by_concurrent_nodes()
    {
        var dir = Path.Combine(_dir, "dev");
        var thumbprints = Enumerable.Range(0, 8).AsParallel().Select(i =>
            NodeTls.Load(new TlsOptions { DevCaDirectory = dir }, new PeerIdentity(NodeRole.Member, $"m{i}")).Authority.Thumbprint).ToList();
        Assert.Single(thumbprints.Distinct());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
    }

    [Fact]
    public void Issued_certificates_carry_their_identity_and_are_trusted_only_under_their_own_ca()
    {
        var member = NodeTls.Load(new TlsOptions { DevCaDirectory = Path.Combine(_dir, "a") }, new PeerIdentity(NodeRole.Member, "member7"));
        var leader = NodeTls.Load(new TlsOptions { DevCaDirectory = Path.Combine(_dir, "a") }, PeerIdentity.Leader);
        var stranger = NodeTls.Load(new TlsOptions { DevCaDirectory = Path.Combine(_dir, "b") }, PeerIdentity.Leader);

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
        var config = new TlsOptions { CaCertificate = ca, Certificate = certificate, Key = key };
        Assert.Equal(new PeerIdentity(NodeRole.Member, "m1"), NodeTls.Load(config, new PeerIdentity(NodeRole.Member, "ignored")).Identity);
        var e = Assert.Throws<ConfigurationException>(() => NodeTls.Load(config, PeerIdentity.Leader));
        Assert.Contains("needs a leader certificate", e.Message, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public void Pem_text_in_place_of_paths_is_used_and_a_damaged_one_is_named_without_its_contents()
    {
        var (ca, certificate, key) = Files(new PeerIdentity(NodeRole.Member, "m2"), DateTimeOffset.UtcNow, TimeSpan.FromDays(365));
        var config = new TlsOptions { CaCertificate = File.ReadAllText(ca), Certificate = File.ReadAllText(certificate), Key = File.ReadAllText(key) };
        var tls = NodeTls.Load(config, new PeerIdentity(NodeRole.Member, "ignored"));
        Assert.Equal(new PeerIdentity(NodeRole.Member, "m2"), tls.Identity);
        Assert.Contains(tls.Notes, n => n.Contains("(PEM text)", StringComparison.Ordinal));

        // The key made for this test, its body cut short: unreadable, and its text must not reach the message.
        var lines = config.Key.Split('\n');
        var body = lines[1];
        var damagedKey = string.Join('\n', lines.Select((l, i) => i == 1 ? l[..8] : l));
        var e = Assert.Throws<ConfigurationException>(() => NodeTls.Load(new TlsOptions { CaCertificate = config.CaCertificate, Certificate = config.Certificate, Key = damagedKey }, PeerIdentity.Leader));
        Assert.Contains("(PEM text)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(body[..8], e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Partial_or_unreadable_configuration_is_a_clear_error()
    {
        var partial = Assert.Throws<ConfigurationException>(() => NodeTls.Load(new TlsOptions { Certificate = "/x.crt" }, PeerIdentity.Leader));
        Assert.Contains("set all of CaCertificate, Certificate and Key", partial.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ConfigurationException>(() =>
            NodeTls.Load(new TlsOptions { CaCertificate = Path.Combine(_dir, "none.crt"), Certificate = "/x.crt", Key = "/x.key" }, PeerIdentity.Leader));
        Assert.Contains("cannot read", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_certificate_stops_start_up_and_one_about_to_expire_warns()
    {
        var (ca, certificate, key) = Files(PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-100), TimeSpan.FromDays(90));
        var expired = Assert.Throws<ConfigurationException>(() => NodeTls.Load(new TlsOptions { CaCertificate = ca, Certificate = certificate, Key = key }, PeerIdentity.Leader));
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);

        (ca, certificate, key) = Files(PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-80), TimeSpan.FromDays(90));
        var soon = NodeTls.Load(new TlsOptions { CaCertificate = ca, Certificate = certificate, Key = key }, PeerIdentity.Leader);
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

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
