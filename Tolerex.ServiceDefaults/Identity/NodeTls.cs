using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>
/// A node's TLS material — its CA, its own certificate and the identity that certificate carries — and the
/// one place that decides whether a peer's certificate is trusted. Leader↔member traffic is always mutual
/// TLS 1.3; there is no plaintext mode.
/// </summary>
public sealed partial class NodeTls
{
    public const string Section = "Tolerex:Tls";
    /// <summary>Start-up warns when a certificate expires sooner than this.</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(30);

    private readonly byte[] _authorityRaw;

    public NodeTls(X509Certificate2 authority, X509Certificate2 certificate, IReadOnlyList<string> notes)
    {
        Authority = authority;
        Certificate = certificate;
        Identity = PeerIdentity.From(certificate) ?? throw new ConfigurationException(
            $"certificate '{certificate.Subject}' carries no Tolerex identity (expected a subject like O=Tolerex, OU=tolerex-member, CN=member1)");
        Notes = notes;
        _authorityRaw = authority.RawData;
    }

    /// <summary>The CA every peer's certificate must chain to (public part only is needed).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public PeerIdentity Identity { get; }

    /// <summary>What start-up should log: where the material came from, expiry warnings.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to this node's CA (and nothing else), is within its
    /// validity period, is allowed for <paramref name="purpose"/> and names a Tolerex identity.
    /// </summary>
    public bool TryValidate(X509Certificate2? certificate, TlsPurpose purpose, out PeerIdentity? identity, out string reason)
    {
        identity = null;
        if (certificate is null)
        {
            reason = "no certificate presented";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new(purpose == TlsPurpose.Server ? CertificateAuthority.ServerAuthOid : CertificateAuthority.ClientAuthOid));
        if (!chain.Build(certificate))
        {
            reason = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("untrusted chain"));
            return false;
        }

        if (!chain.ChainElements[^1].Certificate.RawData.AsSpan().SequenceEqual(_authorityRaw))
        {
            reason = "certificate does not chain to the configured CA";
            return false;
        }

        identity = PeerIdentity.From(certificate);
        if (identity is null)
        {
            reason = $"certificate '{certificate.Subject}' carries no Tolerex identity";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>Kestrel's settings for a listener served by this node.</summary>
    public void ConfigureServer(HttpsConnectionAdapterOptions options, bool requireClientCertificate)
    {
        options.ServerCertificate = Certificate;
        options.SslProtocols = SslProtocols.Tls13;
        options.HandshakeTimeout = TimeSpan.FromSeconds(10);
        options.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate;
        // Kestrel's own chain check uses the machine's roots; trust is decided here against our CA only.
        options.ClientCertificateValidation = (certificate, _, _) => TryValidate(certificate, TlsPurpose.Client, out _, out _);
    }
}

public enum TlsPurpose
{
    /// <summary>The certificate a listener presents.</summary>
    Server,
    /// <summary>The certificate a caller presents.</summary>
    Client,
}
