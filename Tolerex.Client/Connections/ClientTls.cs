using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Tolerex.Client;

/// <summary>
/// TLS to a leader whose HaToKuSe port serves it (<c>Tolerex:Leader:Tls=true</c>). The server must present a
/// certificate for the host name dialled, chaining to <see cref="CaPath"/> (the cluster's CA) — or, when no
/// CA file exists, to the machine's trusted roots (a leader with a publicly trusted certificate).
/// </summary>
public sealed record ClientTls(string? CaPath)
{
    /// <summary>--ca, else $TOLEREX_CA, else the development CA standalone nodes share, if it exists.</summary>
    public static ClientTls Resolve(string? caOption)
    {
        var path = caOption ?? Environment.GetEnvironmentVariable("TOLEREX_CA");
        if (path is null)
        {
            var development = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                "tolerex", "dev-ca", "ca.crt");
            path = File.Exists(development) ? development : null;
        }
        else if (!File.Exists(path))
        {
            throw new FileNotFoundException($"CA certificate '{path}' not found", path);
        }

        return new ClientTls(path);
    }

    public async Task<Stream> AuthenticateAsync(Stream transport, string host, CancellationToken cancellationToken)
    {
        using var authority = CaPath is null ? null : X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(CaPath, cancellationToken));
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = authority is null ? null : new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { authority },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            }, cancellationToken);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }
}
