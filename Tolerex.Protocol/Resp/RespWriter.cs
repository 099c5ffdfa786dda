using System.Buffers;
using System.Buffers.Text;

namespace Tolerex.Protocol.Resp;

/// <summary>
/// Writes RESP2 replies into an <see cref="IBufferWriter{T}"/> without allocating. Large values are copied in
/// the writer's own segment sizes, so a 4 MB value never asks the pipe for one 4 MB block.
/// </summary>
public static class RespWriter
{
    // A type marker, a long ("-9223372036854775808") and CRLF.
    private const int MaxHeaderLength = 1 + 20 + 2;

    /// <summary>Bytes as they are: a ready-made reply such as <see cref="RespText.Ok"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> raw) => BuffersExtensions.Write(writer, raw);

    /// <summary><c>+text\r\n</c>; the text must not contain CR or LF.</summary>
    public static void WriteSimpleString(IBufferWriter<byte> writer, ReadOnlySpan<byte> text) => WriteLine(writer, (byte)'+', text);

    /// <summary><c>-message\r\n</c>; the message starts with its code (<c>ERR …</c>) and must not contain CR or LF.</summary>
    public static void WriteError(IBufferWriter<byte> writer, ReadOnlySpan<byte> messageWithoutDashAndCrlf) =>
        WriteLine(writer, (byte)'-', messageWithoutDashAndCrlf);

    /// <summary><c>:value\r\n</c>.</summary>
    public static void WriteInteger(IBufferWriter<byte> writer, long value) => WriteHeader(writer, (byte)':', value);

    /// <summary><c>$len\r\nvalue\r\n</c>, binary-safe.</summary>
    public static void WriteBulk(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        WriteHeader(writer, (byte)'$', value.Length);
        Write(writer, value);
        Write(writer, "\r\n"u8);
    }

    /// <summary><c>$len\r\nvalue\r\n</c> from a (possibly multi-segment) buffer, such as a request argument.</summary>
    public static void WriteBulk(IBufferWriter<byte> writer, in ReadOnlySequence<byte> value)
    {
        WriteHeader(writer, (byte)'$', value.Length);
        foreach (var segment in value)
            Write(writer, segment.Span);
        Write(writer, "\r\n"u8);
    }

    /// <summary><c>$-1\r\n</c>: the reply for a missing key.</summary>
    public static void WriteNullBulk(IBufferWriter<byte> writer) => Write(writer, RespText.NullBulk);

    /// <summary><c>*count\r\n</c>; the <paramref name="count"/> elements follow (-1 is the null array).</summary>
    public static void WriteArrayHeader(IBufferWriter<byte> writer, int count) => WriteHeader(writer, (byte)'*', count);

    private static void WriteHeader(IBufferWriter<byte> writer, byte marker, long value)
    {
        var span = writer.GetSpan(MaxHeaderLength);
        span[0] = marker;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        writer.Advance(written + 3);
    }

    private static void WriteLine(IBufferWriter<byte> writer, byte marker, ReadOnlySpan<byte> text)
    {
        var span = writer.GetSpan(1);
        span[0] = marker;
        writer.Advance(1);
        Write(writer, text);
        Write(writer, "\r\n"u8);
    }
}
