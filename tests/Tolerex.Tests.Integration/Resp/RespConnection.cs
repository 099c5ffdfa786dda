using System.Net.Sockets;
using System.Text;

namespace Tolerex.Tests.Integration.Resp;

/// <summary>
/// A bare RESP2 connection for tests that check the bytes themselves: raw requests out, one reply at a time in,
/// rendered as text (<c>+OK</c> → "OK", <c>-ERR x</c> → "-ERR x", <c>:3</c> → "3", <c>$-1</c> → "(nil)", arrays as
/// their elements joined by newlines).
/// </summary>
public sealed class RespConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private RespConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _stream.ReadTimeout = 30_000;
    }

    public static async Task<RespConnection> OpenAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("localhost", port);
        return new RespConnection(tcp);
    }

    public Task SendAsync(string raw) => SendAsync(Encoding.UTF8.GetBytes(raw));

    public async Task SendAsync(byte[] raw) => await _stream.WriteAsync(raw);

    /// <summary>A multibulk request of <paramref name="arguments"/>.</summary>
    public static byte[] Request(params byte[][] arguments)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes($"*{arguments.Length}\r\n"));
        foreach (var a in arguments)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
            bytes.AddRange(a);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        return [.. bytes];
    }

    public async Task<string> CommandAsync(params string[] arguments)
    {
        await SendAsync(Request([.. arguments.Select(Encoding.UTF8.GetBytes)]));
        return await ReadReplyAsync();
    }

    /// <summary>The next reply, or null when the server closed the connection first.</summary>
    public async Task<string?> TryReadReplyAsync()
    {
        if (await ReadLineAsync() is not { } line)
            return null;
        switch (line[0])
        {
            case '+':
            case ':':
                return line[1..];
            case '-':
                return line;
            case '$':
                var length = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                    return "(nil)";
                var value = await ReadExactlyAsync(length + 2);
                return Encoding.UTF8.GetString(value, 0, length);
            case '*':
                var count = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                var items = new List<string>();
                for (var i = 0; i < count; i++)
                    items.Add(await ReadReplyAsync());
                return string.Join('\n', items);
            default:
                throw new InvalidDataException($"not a RESP reply: {line}");
        }
    }

    public async Task<string> ReadReplyAsync() => await TryReadReplyAsync() ?? throw new IOException("the server closed the connection");

    /// <summary>The next reply's bytes exactly as sent, for a bulk reply (its content only).</summary>
    public async Task<byte[]> ReadBulkAsync()
    {
        var line = await ReadLineAsync() ?? throw new IOException("closed");
        Assert.StartsWith("$", line, StringComparison.Ordinal);
        var length = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
        return (await ReadExactlyAsync(length + 2))[..length];
    }

    private async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                _start = lf + 1;
                return line;
            }

            if (!await FillAsync())
                return null;
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end && !await FillAsync())
                throw new IOException("the server closed the connection mid-reply");
            var n = Math.Min(count - copied, _end - _start);
            Array.Copy(_buffer, _start, result, copied, n);
            (_start, copied) = (_start + n, copied + n);
        }

        return result;
    }

    private async Task<bool> FillAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            (_end, _start) = (_end - _start, 0);
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), deadline.Token);
        _end += n;
        return n > 0;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
