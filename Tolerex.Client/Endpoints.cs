using System.Net.Sockets;

namespace Tolerex.Client;

/// <summary>Parses <c>--addr</c> lists ("host:port,host:port") and connects to the first that answers.</summary>
internal static class Endpoints
{
    public static IReadOnlyList<(string Host, int Port)> Parse(string addresses)
    {
        var result = new List<(string, int)>();
        foreach (var part in addresses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part[(colon + 1)..], out var port) || port is <= 0 or > 65535)
                throw new FormatException($"'{part}' is not host:port");
            result.Add((part[..colon].Trim('[', ']'), port));
        }

        return result.Count > 0 ? result : throw new FormatException("no address given");
    }

    /// <summary>The host name of the endpoint <paramref name="tcp"/> connected to (what a TLS certificate must name).</summary>
    public static string HostOf(TcpClient tcp, IReadOnlyList<(string Host, int Port)> endpoints)
    {
        var port = ((System.Net.IPEndPoint)tcp.Client.RemoteEndPoint!).Port;
        return endpoints.FirstOrDefault(e => e.Port == port).Host ?? endpoints[0].Host;
    }

    /// <summary>Tries each address in order; returns null when none accepts a connection.</summary>
    public static async Task<TcpClient?> ConnectFirstAsync(IReadOnlyList<(string Host, int Port)> endpoints, TextWriter log, CancellationToken cancellationToken)
    {
        foreach (var (host, port) in endpoints)
        {
            var tcp = new TcpClient { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await tcp.ConnectAsync(host, port, timeout.Token);
                return tcp;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await log.WriteLineAsync($"cannot connect to {host}:{port}: {e.Message}");
                tcp.Dispose();
            }
        }

        return null;
    }
}
