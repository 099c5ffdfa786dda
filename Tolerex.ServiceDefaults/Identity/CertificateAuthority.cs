using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>
/// A small certificate authority for development: an ECDSA P-256 root that issues node certificates usable
/// as both TLS server and client (every node is both). Production deployments bring their own PEM files.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public static readonly TimeSpan DefaultAuthorityLifetime = TimeSpan.FromDays(5 * 365);
    public static readonly TimeSpan DefaultNodeLifetime = TimeSpan.FromDays(90);
    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private CertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The root certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public static CertificateAuthority Create(string name, DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("Tolerex");
        subject.AddCommonName(name);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return new CertificateAuthority(request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime));
    }

    /// <summary>
    /// A certificate for <paramref name="identity"/>, valid for localhost, the loopback addresses, this host's
    /// name (unless <paramref name="thisHost"/> is false: a certificate issued here for another machine) and
    /// <paramref name="extraNames"/> (DNS names or IP addresses), with its private key.
    /// </summary>
    public X509Certificate2 Issue(PeerIdentity identity, DateTimeOffset now, TimeSpan lifetime, IEnumerable<string>? extraNames = null, bool thisHost = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(identity.ToDistinguishedName(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid), new Oid(ClientAuthOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        request.CertificateExtensions.Add(SubjectAlternativeNames(extraNames, thisHost));

        var notAfter = now + lifetime < Certificate.NotAfter ? now + lifetime : new DateTimeOffset(Certificate.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number, as RFC 5280 asks
        using var issued = request.Create(Certificate, now.AddMinutes(-5), notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static X509Extension SubjectAlternativeNames(IEnumerable<string>? extraNames, bool thisHost)
    {
        var names = new SubjectAlternativeNameBuilder();
        var dns = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        if (thisHost)
            dns.Add(Dns.GetHostName());
        var ips = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var name in extraNames ?? [])
        {
            if (IPAddress.TryParse(name, out var ip))
                ips.Add(ip);
            else if (!string.IsNullOrWhiteSpace(name))
                dns.Add(name);
        }

        foreach (var name in dns)
            names.AddDnsName(name);
        foreach (var ip in ips)
            names.AddIpAddress(ip);
        return names.Build();
    }

    /// <summary>Writes the root certificate and (owner-only) key as PEM.</summary>
    public void Save(string certificatePath, string keyPath)
    {
        WriteKey(keyPath, Certificate);
        OwnerOnlyFiles.Write(certificatePath, Certificate.ExportCertificatePem());
    }

    /// <summary>Writes a node certificate and its (owner-only) key as PEM.</summary>
    public static void SaveNode(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        WriteKey(keyPath, certificate);
        OwnerOnlyFiles.Write(certificatePath, certificate.ExportCertificatePem());
    }

    private static void WriteKey(string keyPath, X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        OwnerOnlyFiles.Write(keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public static CertificateAuthority Load(string certificatePath, string keyPath) =>
        new(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));

    /// <summary>
    /// The development CA in <paramref name="directory"/> (ca.crt, ca.key), created on first use. Nodes
    /// started together race for it, so creation happens under an exclusive lock file. A CA that has
    /// expired, or will within <paramref name="renewWithin"/>, is replaced.
    /// </summary>
    public static CertificateAuthority LoadOrCreateDevelopment(string directory, DateTimeOffset now, TimeSpan renewWithin, out bool created) =>
        LoadOrCreate(directory, $"Tolerex development CA ({Environment.UserName}@{Dns.GetHostName()})", now, renewWithin, out created);

    /// <summary>
    /// The CA in <paramref name="directory"/> (ca.crt, ca.key), created as <paramref name="name"/> on first use
    /// (see <see cref="LoadOrCreateDevelopment"/>); an existing one keeps its name.
    /// </summary>
    public static CertificateAuthority LoadOrCreate(string directory, string name, DateTimeOffset now, TimeSpan renewWithin, out bool created)
    {
        OwnerOnlyFiles.CreateDirectory(directory);
        var certificatePath = Path.Combine(directory, "ca.crt");
        var keyPath = Path.Combine(directory, "ca.key");
        using var lockFile = AcquireLock(Path.Combine(directory, "ca.lock"), TimeSpan.FromSeconds(30));
        created = false;
        if (File.Exists(certificatePath) && File.Exists(keyPath))
        {
            var existing = Load(certificatePath, keyPath);
            if (existing.Certificate.NotAfter - renewWithin > now)
                return existing;
            existing.Dispose();
        }

        var authority = Create(name, now, DefaultAuthorityLifetime);
        authority.Save(certificatePath, keyPath);
        created = true;
        return authority;
    }

    private static FileStream AcquireLock(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix, so other processes wait here.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20); // another node is creating the CA; it takes milliseconds
            }
        }
    }

    public void Dispose() => Certificate.Dispose();
}
