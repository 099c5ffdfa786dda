using System.Net.Security;
using Grpc.Net.Client;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>
/// Creates every leader↔member gRPC channel, so transport security (mutual TLS) is configured in one place.
/// Channels are long-lived: one per peer, reused for every call.
/// </summary>
public static class NodeChannels
{
    /// <summary>Normalises "host:port" (the original's address form) or a URL to an absolute http(s) URI.</summary>
    public static Uri ToUri(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new FormatException($"'{address}' is not a valid node address (expected host:port or http(s)://host:port).");
        return uri;
    }

    /// <summary>The canonical form of a node address, e.g. "http://localhost:5556": one key per node.</summary>
    public static string Canonical(string address) => ToUri(address).GetLeftPart(UriPartial.Authority);

    public static GrpcChannel Create(string address, TimeSpan connectTimeout, int maxMessageBytes)
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
            SslOptions = new SslClientAuthenticationOptions(),
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
}
