using System.Buffers;
using System.Buffers.Text;

namespace Tolerex.Protocol.HaToKuSe;

/// <summary>
/// Writes HaToKuSe replies (server side) and commands (client side) into an <see cref="IBufferWriter{T}"/>,
/// without allocating.
/// </summary>
public static class HaToKuSeWriter
{
    public static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        var span = writer.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        writer.Advance(bytes.Length);
    }

    /// <summary>A stored message as one reply line.</summary>
    public static void WriteValue(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        Write(writer, value);
        Write(writer, HaToKuSeText.NewLine);
    }

    public static void WriteNumber(IBufferWriter<byte> writer, long value)
    {
        var span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }

    public static void WriteCountError(IBufferWriter<byte> writer, long maxCount)
    {
        Write(writer, "ERROR: count must be between 1 and "u8);
        WriteNumber(writer, maxCount);
        Write(writer, HaToKuSeText.NewLine);
    }

    /// <summary>The bulk reply: <c>OK &lt;count&gt; ids &lt;first&gt;..&lt;last&gt;</c>.</summary>
    public static void WriteBulkOk(IBufferWriter<byte> writer, long count, long firstId, long lastId)
    {
        Write(writer, "OK "u8);
        WriteNumber(writer, count);
        Write(writer, " ids "u8);
        WriteNumber(writer, firstId);
        Write(writer, ".."u8);
        WriteNumber(writer, lastId);
        Write(writer, HaToKuSeText.NewLine);
    }

    /// <summary>A <c>SET &lt;id&gt; &lt;message&gt;</c> command line (the message must not contain CR or LF).</summary>
    public static void WriteSet(IBufferWriter<byte> writer, long id, ReadOnlySpan<byte> message)
    {
        Write(writer, "SET "u8);
        WriteNumber(writer, id);
        Write(writer, " "u8);
        Write(writer, message);
        Write(writer, HaToKuSeText.NewLine);
    }

    /// <summary>A <c>GET &lt;id&gt;</c> command line.</summary>
    public static void WriteGet(IBufferWriter<byte> writer, long id)
    {
        Write(writer, "GET "u8);
        WriteNumber(writer, id);
        Write(writer, HaToKuSeText.NewLine);
    }
}
