using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>
/// Creates every leader↔member gRPC channel, so transport security (mutual TLS 1.3) is configured in one
/// place. Channels are long-lived: one per peer, reused for every call.
/// </summary>
public static class NodeChannels
{
    /// <summary>
    /// Normalises "host:port" or a URL to an https URI: node traffic is always
    /// TLS, so an http:// address (as Aspire's service discovery or an old configuration may give) means the
    /// same host and port over TLS.
    /// </summary>
    public static Uri ToUri(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "https://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new FormatException($"'{address}' is not a valid node address (expected host:port or https://host:port).");
        return new UriBuilder(uri) { Scheme = "https", Port = uri.Port, Path = "", Query = "", Fragment = "" }.Uri;
    }

    /// <summary>The canonical form of a node address, e.g. "https://localhost:5556": one key per node.</summary>
    public static string Canonical(string address) => ToUri(address).GetLeftPart(UriPartial.Authority);

    /// <param name="acceptServer">Decides whether the identity the server's certificate carries is the peer meant.</param>
    /// <param name="rejected">Told why a server was refused, for the log (a failed handshake alone says little).</param>
    public static GrpcChannel Create(string address, NodeTls tls, Func<PeerIdentity, bool> acceptServer, TimeSpan connectTimeout, int maxMessageBytes,
        Action<string>? rejected = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            // A dead peer must be noticed even when no call is in flight.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            SslOptions = ClientOptions(tls, acceptServer, rejected),
        };

        return GrpcChannel.ForAddress(ToUri(address), new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = maxMessageBytes,
            MaxSendMessageSize = maxMessageBytes,
            // Tolerex does its own replica substitution and failover; a transparent retry would hide them.
            MaxRetryAttempts = 0,
            // A peer that comes back is usable within a second, not after gRPC's default backoff (up to 120 s).
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromSeconds(1),
        });
    }

    /// <summary>TLS 1.3, this node's certificate offered to the server, and the server checked against our CA and <paramref name="acceptServer"/>.</summary>
    public static SslClientAuthenticationOptions ClientOptions(NodeTls tls, Func<PeerIdentity, bool> acceptServer, Action<string>? rejected = null) => new()
    {
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = SslStreamCertificateContext.Create(tls.Certificate, additionalCertificates: null, offline: true),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            // The host name must match; chain errors are expected (our CA is not a machine root) and decided below.
            if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                rejected?.Invoke($"server certificate {errors}");
                return false;
            }

            using var server = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            if (!tls.TryValidate(server, TlsPurpose.Server, out var identity, out var reason))
            {
                rejected?.Invoke(reason);
                return false;
            }

            if (!acceptServer(identity!))
            {
                rejected?.Invoke($"the server is {identity}, not the expected peer");
                return false;
            }

            return true;
        },
    };
}
