using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Testing;

/// <summary>Certificates written as PEM files for tests that configure a node the way production does.</summary>
public static class TestCertificates
{
    /// <summary>A fresh CA and a certificate for <paramref name="identity"/> it issued, valid from <paramref name="issuedAt"/> for <paramref name="lifetime"/>.</summary>
    public static (string Ca, string Certificate, string Key) Write(string directory, PeerIdentity identity, DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        using var ca = CertificateAuthority.Create("test CA", issuedAt, TimeSpan.FromDays(3650));
        using var node = ca.Issue(identity, issuedAt, lifetime);
        var paths = (Path.Combine(directory, "ca.crt"), Path.Combine(directory, "node.crt"), Path.Combine(directory, "node.key"));
        ca.Save(paths.Item1, Path.Combine(directory, "ca.key"));
        CertificateAuthority.SaveNode(node, paths.Item2, paths.Item3);
        return paths;
    }
}
