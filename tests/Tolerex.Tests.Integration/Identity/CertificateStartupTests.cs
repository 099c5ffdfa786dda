using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Integration.Identity;

/// <summary>A node started with production-style PEM files it must refuse.</summary>
public sealed class CertificateStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact(Timeout = 180_000)]
    public async Task A_node_with_an_expired_certificate_exits_with_a_clear_message()
    {
        var (ca, certificate, key) = TestCertificates.Write(_dir, PeerIdentity.Leader, DateTimeOffset.UtcNow.AddDays(-100), TimeSpan.FromDays(90));
        var (exit, _, error) = await TestEnvironment.RunAsync(TestEnvironment.DotnetHost, [TestEnvironment.Beside("Tolerex.Leader.dll")], TimeSpan.FromSeconds(60),
            environment: new Dictionary<string, string> { ["Tolerex__Tls__CaCertificate"] = ca, ["Tolerex__Tls__Certificate"] = certificate, ["Tolerex__Tls__Key"] = key });
        Assert.Equal(2, exit);
        Assert.Contains("expired on", error, StringComparison.Ordinal);
    }
}
