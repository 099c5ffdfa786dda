using Tolerex.ServiceDefaults.Identity;

/// <summary>
/// The development identities of one AppHost cluster: a CA kept in <c>.certs/</c> (git-ignored, owner-only
/// key files) across runs, and fresh leader, member and client certificates issued from it at every start.
/// Nodes get the PEM paths through <c>Tolerex__Tls__*</c>; nothing here is committed or shared.
/// </summary>
internal sealed class ClusterCertificates(string directory)
{
    public string Directory { get; } = directory;
    public string Authority => Path.Combine(Directory, "ca.crt");

    public static ClusterCertificates Create(string directory, IEnumerable<PeerIdentity> identities)
    {
        var now = DateTimeOffset.UtcNow;
        using var authority = CertificateAuthority.LoadOrCreateDevelopment(directory, now, NodeTls.ExpiryWarning, out _);
        var certificates = new ClusterCertificates(directory);
        foreach (var identity in identities)
        {
            using var certificate = authority.Issue(identity, now, CertificateAuthority.DefaultNodeLifetime);
            CertificateAuthority.SaveNode(certificate, certificates.CertificateOf(identity), certificates.KeyOf(identity));
        }

        return certificates;
    }

    public string CertificateOf(PeerIdentity identity) => Path.Combine(Directory, identity.Name + ".crt");
    public string KeyOf(PeerIdentity identity) => Path.Combine(Directory, identity.Name + ".key");
}

internal static class ClusterCertificateExtensions
{
    public static IResourceBuilder<ProjectResource> WithIdentity(this IResourceBuilder<ProjectResource> node, ClusterCertificates certificates, PeerIdentity identity) =>
        node.WithEnvironment("Tolerex__Tls__CaCertificate", certificates.Authority)
            .WithEnvironment("Tolerex__Tls__Certificate", certificates.CertificateOf(identity))
            .WithEnvironment("Tolerex__Tls__Key", certificates.KeyOf(identity));
}
