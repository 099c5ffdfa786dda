using System.Net.Sockets;
using System.Text;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Connections;

/// <summary>
/// A HaToKuSe connection for programs: PROMPT OFF at once, then exactly one CRLF line per SET/GET/PING reply.
/// Reads into one reusable buffer and finds line ends by scanning; nothing is allocated per request.
/// </summary>
internal sealed class LineConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    // With TLS, bytes go through an SslStream; otherwise straight to the socket (no stream in the way).
    private readonly Stream? _tls;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private LineConnection(Socket socket, Stream? tls)
    {
        _socket = socket;
        _tls = tls;
    }

    /// <summary>How long connecting (TCP, TLS and the PROMPT OFF exchange) may take before the address counts as down.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Connects; with <paramref name="hatokuse"/> also turns the prompt off and skips the banner (its
    /// lines go to <paramref name="banner"/> when given).</summary>
    public static async Task<LineConnection> OpenAsync(string host, int port, bool hatokuse, CancellationToken cancellationToken, string? password = null,
        ClientTls? tls = null, ICollection<string>? banner = null)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        LineConnection? connection = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(host, port, timeout.Token);
            var secure = tls is null ? null : await tls.AuthenticateAsync(new NetworkStream(socket, ownsSocket: false), host, timeout.Token);
            connection = new LineConnection(socket, secure);
            if (hatokuse)
                await connection.HandshakeAsync(password, banner, timeout.Token);
            return connection;
        }
        catch (Exception e)
        {
            if (connection is null)
                socket.Dispose();
            else
                await connection.DisposeAsync();
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new IOException($"no answer from {host}:{port} within {ConnectTimeout.TotalSeconds:0} s");
            throw;
        }
    }

    private async Task HandshakeAsync(string? password, ICollection<string>? banner, CancellationToken cancellationToken)
    {
        await SendAsync("PROMPT OFF\r\n"u8.ToArray(), cancellationToken);
        // The banner (if any) ends with the prompt, so the OK arrives on the prompt's line.
        while (true)
        {
            var line = Line(await ReadLineAsync(cancellationToken));
            if (line.EndsWith(HaToKuSeText.Ok[..^2]))
                break;
            banner?.Add(Encoding.UTF8.GetString(line));
        }

        if (password is not null)
        {
            await SendAsync(Encoding.UTF8.GetBytes($"AUTH {password}\r\n"), cancellationToken);
            var reply = LineText(await ReadLineAsync(cancellationToken));
            if (reply != "OK")
                throw new IOException($"AUTH refused: {reply}");
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            if (_tls is not null)
            {
                await _tls.WriteAsync(bytes, cancellationToken);
                return;
            }

            var n = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[n..];
        }
    }

    /// <summary>Reads the next line; returns its (start, length) in the internal buffer, CRLF excluded.</summary>
    public async ValueTask<(int Start, int Length)> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var start = _start;
                var length = lf - start;
                if (length > 0 && _buffer[lf - 1] == (byte)'\r')
                    length--;
                _start = lf + 1;
                return (start, length);
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
                Array.Resize(ref _buffer, _buffer.Length * 2);
            var n = _tls is not null
                ? await _tls.ReadAsync(_buffer.AsMemory(_end), cancellationToken)
                : await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
            if (n == 0)
                throw new IOException("server closed the connection");
            _end += n;
        }
    }

    public ReadOnlySpan<byte> Line((int Start, int Length) line) => _buffer.AsSpan(line.Start, line.Length);

    public string LineText((int Start, int Length) line) => Encoding.UTF8.GetString(Line(line));

    public ValueTask DisposeAsync()
    {
        _tls?.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
