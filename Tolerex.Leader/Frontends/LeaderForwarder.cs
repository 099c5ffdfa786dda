using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.ServiceDefaults.Identity;
using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// Serves a client connection made to a node that does not lead the leader group: it opens a connection to
/// the leader's listener for the same protocol (HaToKuSe or RESP) and passes bytes both ways, so the client gets
/// exactly the leader's replies (banner, AUTH, everything). While the group has no leader it waits up to
/// <c>NoLeaderTimeout</c>, then answers <c>ERROR: no leader</c> (RESP: <c>-ERR no leader</c>) and closes. If the leader goes away, or this node learns that another node leads (the
/// former leader may be cut off rather than dead), the connection closes, as a leader's would; a moment without
/// a known leader (a late heartbeat) does not close it.
/// </summary>
internal sealed partial class LeaderForwarder(Leadership leadership, NodeTls tls, IOptions<LeaderOptions> leaderOptions, ILogger<LeaderForwarder> logger)
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly LogThrottle _throttle = LogThrottle.PerSecond();

    /// <summary>True when this node should forward a new connection rather than serve it.</summary>
    public bool ShouldForward => !leadership.Leading;

    /// <summary>Forwards the connection to the leader; false when this node became the leader meanwhile and serves it itself.</summary>
    public async Task<bool> ForwardAsync(ConnectionContext connection, ClientProtocol protocol)
    {
        var closed = connection.ConnectionClosed;
        var deadline = Environment.TickCount64 + (long)_options.NoLeaderTimeout.TotalMilliseconds;
        Stream? upstream = null;
        var era = CancellationToken.None;
        while (upstream is null)
        {
            var target = await WaitForLeaderAsync(protocol, deadline, closed);
            if (leadership.Leading)
                return false;
            if (target is null)
            {
                if (_throttle.Allow("no-leader", out var held))
                    LogNoLeader(logger, protocol.Name, _options.NoLeaderTimeout.TotalSeconds, held);
                connection.Transport.Output.Write(protocol.NoLeader.Span);
                await connection.Transport.Output.FlushAsync(closed);
                return true;
            }

            // A leader that just died is still named here until an election begins: wait for the next one.
            era = target.Value.Era;
            upstream = await TryConnectAsync(target.Value.Host, target.Value.Port, closed);
            if (upstream is not null && era.IsCancellationRequested)
            {
                // The leader changed while connecting: nothing was passed yet, so ask again.
                await upstream.DisposeAsync();
                upstream = null;
                continue;
            }

            if (upstream is null)
                await Task.Delay(50, closed);
        }

        await using (upstream)
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(closed, era);
            var up = connection.Transport.Input.CopyToAsync(upstream, done.Token);
            var down = upstream.CopyToAsync(connection.Transport.Output.AsStream(leaveOpen: true), done.Token);
            var ended = await Task.WhenAny(up, down);
            await done.CancelAsync();
            await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (era.IsCancellationRequested && !closed.IsCancellationRequested && _throttle.Allow("leader-changed", out var cut))
                LogCutOnLeaderChange(logger, protocol.Name, cut);
            else if (ended == down && !closed.IsCancellationRequested)
                LogLeaderClosed(logger, protocol.Name, connection.ConnectionId);
        }

        return true;
    }

    /// <summary>A connection to the leader's client listener (TLS when clients get TLS); null when it cannot be made.</summary>
    private async Task<Stream?> TryConnectAsync(string host, int port, CancellationToken closed)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, closed);
            Stream stream = tcp.GetStream();
            if (!_options.Tls)
                return stream;
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                // The leader's client-port certificate is its node certificate: our CA, role leader.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var server = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return tls.TryValidate(server, TlsPurpose.Server, out var identity, out _) && identity?.Role == NodeRole.Leader;
                },
            }, closed);
            return ssl;
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            tcp.Dispose();
            return null;
        }
    }

    /// <summary>
    /// The leader's address for <paramref name="protocol"/> once another node leads, with the token cancelled when it
    /// stops leading; null when none does before the deadline, or this node leads meanwhile.
    /// </summary>
    private async Task<(string Host, int Port, CancellationToken Era)?> WaitForLeaderAsync(ClientProtocol protocol, long deadline, CancellationToken closed)
    {
        while (Environment.TickCount64 < deadline && !closed.IsCancellationRequested && !leadership.Leading)
        {
            var era = leadership.LeaderEra; // taken first: a change after it cancels it
            if (protocol.LeaderAddress(leadership) is { } address && address.LastIndexOf(':') is var colon and > 0
                && int.TryParse(address.AsSpan(colon + 1), out var port))
            {
                return (address[..colon].Trim('[', ']'), port, era);
            }

            await Task.Delay(20, closed).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} connection passed to the former leader closed: the leader changed ({Held} more like it since the last line)")]
    private static partial void LogCutOnLeaderChange(ILogger logger, string protocol, long held);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Protocol} connection {ConnectionId}: the leader closed it")]
    private static partial void LogLeaderClosed(ILogger logger, string protocol, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Protocol} connection refused: the leader group had no leader for {Seconds} s ({Held} more like it since the last line)")]
    private static partial void LogNoLeader(ILogger logger, string protocol, double seconds, long held);
}
