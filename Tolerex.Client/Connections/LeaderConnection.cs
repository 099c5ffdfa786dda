using System.Security.Authentication;

namespace Tolerex.Client.Connections;

/// <summary>
/// A framed (PROMPT OFF) connection to one of the <c>--addr</c> leaders. When it breaks, <see cref="ReconnectAsync"/>
/// moves on to the next address in the list (wrapping around), round after round, until one answers or
/// <c>reconnectFor</c> has passed — so a client keeps going when a leader restarts or an address fails.
/// </summary>
internal sealed class LeaderConnection : IAsyncDisposable
{
    /// <summary>Pause between rounds over the whole address list, so a down cluster is not hammered.</summary>
    private static readonly TimeSpan RoundPause = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<(string Host, int Port)> _endpoints;
    private readonly string? _password;
    private readonly ClientTls? _tls;
    private readonly TextWriter _log;
    private LineConnection? _line;
    private int _index;

    private readonly TimeSpan _reconnectFor;

    private LeaderConnection(IReadOnlyList<(string Host, int Port)> endpoints, string? password, ClientTls? tls, TextWriter log, TimeSpan reconnectFor)
    {
        _endpoints = endpoints;
        _password = password;
        _tls = tls;
        _log = log;
        _reconnectFor = reconnectFor;
    }

    public LineConnection Line => _line ?? throw new InvalidOperationException("not connected");

    public string Address => $"{_endpoints[_index].Host}:{_endpoints[_index].Port}";

    /// <summary>Tries each address once, in order; null when none answers (each failure is logged).</summary>
    public static async Task<LeaderConnection?> ConnectAsync(IReadOnlyList<(string Host, int Port)> endpoints, string? password, ClientTls? tls,
        TextWriter log, TimeSpan reconnectFor, CancellationToken cancellationToken, ICollection<string>? banner = null)
    {
        var connection = new LeaderConnection(endpoints, password, tls, log, reconnectFor);
        return await connection.TryRoundAsync(0, banner, cancellationToken) ? connection : null;
    }

    /// <summary>Drops the broken connection and connects to the next address that answers.</summary>
    public async Task<bool> ReconnectAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync();
        var deadline = DateTime.UtcNow + _reconnectFor;
        while (true)
        {
            if (await TryRoundAsync(_index + 1, null, cancellationToken))
            {
                await _log.WriteLineAsync($"reconnected to {Address}");
                return true;
            }

            if (DateTime.UtcNow + RoundPause > deadline)
                return false;
            await Task.Delay(RoundPause, cancellationToken);
        }
    }

    private async Task<bool> TryRoundAsync(int first, ICollection<string>? banner, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _endpoints.Count; i++)
        {
            var index = (first + i) % _endpoints.Count;
            var (host, port) = _endpoints[index];
            try
            {
                _line = await LineConnection.OpenAsync(host, port, hatokuse: true, cancellationToken, _password, _tls, banner);
                _index = index;
                return true;
            }
            catch (AuthenticationException e)
            {
                await _log.WriteLineAsync($"error: TLS with the leader failed: {e.Message}");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                await _log.WriteLineAsync($"cannot connect to {host}:{port}: {e.Message}");
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_line is { } line)
        {
            _line = null;
            await line.DisposeAsync();
        }
    }
}
