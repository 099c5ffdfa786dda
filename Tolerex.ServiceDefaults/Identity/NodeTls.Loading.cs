using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.ServiceDefaults.Identity;

public sealed partial class NodeTls
{
    /// <summary>Where standalone nodes on one machine share a development CA unless configured otherwise.</summary>
    public static string DefaultDevelopmentDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "tolerex", "dev-ca");

    /// <summary>
    /// Loads the node's TLS material. With <c>Tolerex:Tls:CaCertificate</c>, <c>Certificate</c> and <c>Key</c>
    /// (PEM paths) set, those are used and must carry the role <paramref name="self"/> has. With none set, the
    /// shared development CA (<c>Tolerex:Tls:DevCaDirectory</c>) issues this node a certificate for
    /// <paramref name="self"/> in memory. Expired or not-yet-valid certificates are a configuration error.
    /// </summary>
    public static NodeTls Load(TlsOptions options, PeerIdentity self, IEnumerable<string>? hostNames = null, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        var caPath = Setting(options.CaCertificate);
        var certificatePath = Setting(options.Certificate);
        var keyPath = Setting(options.Key);
        var notes = new List<string>();

        if (caPath is null && certificatePath is null && keyPath is null)
        {
            var directory = Setting(options.DevCaDirectory) ?? DefaultDevelopmentDirectory;
            using var authority = CertificateAuthority.LoadOrCreateDevelopment(directory, at, ExpiryWarning, out var created);
            notes.Add(created
                ? $"TLS: created a development CA in {directory}; configure {Section}:CaCertificate, Certificate and Key for production"
                : $"TLS: using the development CA in {directory}");
            var issued = authority.Issue(self, at, CertificateAuthority.DefaultNodeLifetime, hostNames);
            return new NodeTls(PublicPart(authority.Certificate), issued, notes);
        }

        if (caPath is null || certificatePath is null || keyPath is null)
            throw new ConfigurationException($"{Section}: set all of CaCertificate, Certificate and Key (PEM files or PEM text), or none of them to use the development CA");

        var ca = Read(() => X509Certificate2.CreateFromPem(Pem(caPath)), $"{Section}:CaCertificate", caPath);
        var certificate = Read(() => X509Certificate2.CreateFromPem(Pem(certificatePath), Pem(keyPath)), $"{Section}:Certificate/Key", certificatePath);
        (caPath, certificatePath) = (Describe(caPath), Describe(certificatePath));
        CheckValidity(ca, $"CA certificate {caPath}", at, notes);
        CheckValidity(certificate, $"certificate {certificatePath}", at, notes);
        var tls = new NodeTls(ca, certificate, notes);
        if (tls.Identity.Role != self.Role)
            throw new ConfigurationException($"{Section}:Certificate {certificatePath} is a {tls.Identity} certificate; this node needs a {self.Role.ToString().ToLowerInvariant()} certificate");
        if (!tls.TryValidate(certificate, TlsPurpose.Client, out _, out var reason))
            throw new ConfigurationException($"{Section}:Certificate {certificatePath} is not accepted by {caPath}: {reason}");
        notes.Add($"TLS: {tls.Identity} certificate {certificatePath}, CA {caPath}");
        return tls;
    }

    /// <summary>Material from a throw-away in-memory CA, for tools that never talk to another node (benchmarks, tests).</summary>
    public static NodeTls CreateEphemeral(PeerIdentity self)
    {
        var now = DateTimeOffset.UtcNow;
        using var authority = CertificateAuthority.Create("Tolerex ephemeral CA", now, TimeSpan.FromDays(1));
        return new NodeTls(PublicPart(authority.Certificate), authority.Issue(self, now, TimeSpan.FromDays(1)), []);
    }

    /// <summary>Fails on a certificate outside its validity period; notes one that expires within <see cref="ExpiryWarning"/>.</summary>
    internal static void CheckValidity(X509Certificate2 certificate, string what, DateTimeOffset now, List<string> notes)
    {
        if (certificate.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            throw new ConfigurationException($"{what} expired on {certificate.NotAfter.ToUniversalTime():u}; issue a new one");
        if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
            throw new ConfigurationException($"{what} is not valid until {certificate.NotBefore.ToUniversalTime():u}");
        var left = certificate.NotAfter.ToUniversalTime() - now.UtcDateTime;
        if (left < ExpiryWarning)
            notes.Add($"WARNING: {what} expires in {left.TotalDays:0.#} days, on {certificate.NotAfter.ToUniversalTime():u}");
    }

    private static string? Setting(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A setting holds the PEM text itself, or the path of a file holding it.</summary>
    private static bool IsPemText(string setting) => setting.StartsWith("-----BEGIN ", StringComparison.Ordinal);

    private static string Pem(string setting) => IsPemText(setting) ? setting : File.ReadAllText(setting);

    /// <summary>How messages name a setting: its path, or "(PEM text)" (never a key's contents).</summary>
    private static string Describe(string setting) => IsPemText(setting) ? "(PEM text)" : setting;

    private static X509Certificate2 PublicPart(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    private static X509Certificate2 Read(Func<X509Certificate2> load, string key, string path)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ConfigurationException($"{key}: cannot read '{Describe(path)}': {e.Message}");
        }
    }
}
