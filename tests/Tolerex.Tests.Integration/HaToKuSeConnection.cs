using System.Net.Sockets;
using System.Text;

namespace Tolerex.Tests.Integration;

/// <summary>A raw TCP HaToKuSe connection for tests: sends bytes, reads CRLF lines, with deadlines.</summary>
public sealed class HaToKuSeConnection : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly List<byte> _pending = [];
    private readonly byte[] _buffer = new byte[64 * 1024];

    private HaToKuSeConnection(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _tcp.NoDelay = true;
        _stream = stream;
    }

    public static async Task<HaToKuSeConnection> OpenAsync(string host, int port, bool quiet = true, Tolerex.Client.ClientTls? tls = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(host, port).WaitAsync(DefaultTimeout);
        Stream stream = tcp.GetStream();
        if (tls is not null)
            stream = await tls.AuthenticateAsync(stream, host, CancellationToken.None).WaitAsync(DefaultTimeout);
        var connection = new HaToKuSeConnection(tcp, stream);
        if (quiet)
        {
            await connection.SendAsync("PROMPT OFF\r\n");
            // The banner ends with the prompt, so the OK arrives on the prompt's line.
            while (!(await connection.ReadLineAsync()).EndsWith("OK", StringComparison.Ordinal))
            {
            }
        }

        return connection;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes).AsTask().WaitAsync(DefaultTimeout);
        await _stream.FlushAsync();
    }

    /// <summary>Sends one command and returns its one-line reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadLineAsync();
    }

    public async Task<string> ReadLineAsync(TimeSpan? timeout = null) =>
        Encoding.UTF8.GetString(await ReadLineBytesAsync(timeout));

    /// <summary>Reads up to the next LF; returns the line without CRLF. Throws if the server closes first.</summary>
    public async Task<byte[]> ReadLineBytesAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = _pending.GetRange(0, lf).ToArray();
                _pending.RemoveRange(0, lf + 1);
                return line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;
            }

            var n = await _stream.ReadAsync(_buffer, cts.Token);
            if (n == 0)
                throw new EndOfStreamException("server closed the connection; unread: " + Encoding.UTF8.GetString(_pending.ToArray()));
            _pending.AddRange(_buffer.AsSpan(0, n));
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (for the prompt, which has no line end).</summary>
    public async Task<string> ReadExactAsync(int count)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        while (_pending.Count < count)
        {
            var n = await _stream.ReadAsync(_buffer, cts.Token);
            if (n == 0)
                throw new EndOfStreamException();
            _pending.AddRange(_buffer.AsSpan(0, n));
        }

        var text = Encoding.UTF8.GetString(_pending.GetRange(0, count).ToArray());
        _pending.RemoveRange(0, count);
        return text;
    }

    /// <summary>True when the server closes the connection (after any unread data) within the timeout.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _stream.ReadAsync(_buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // reset by peer
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
