using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Tolerex.Protocol.HaToKuSe;

/// <summary>
/// Parses HaToKuSe lines straight out of a receive buffer, without allocating.
/// A line ends at LF; one CR before the LF is dropped, so LF and CRLF both work.
/// For <c>SET</c> the message is every byte after the single space (or tab) that follows the id,
/// kept byte for byte, so any message (runs of spaces and tabs included) can be stored.
/// </summary>
public static class HaToKuSeParser
{
    // Keyword, id and count always fit here; longer heads are not valid ids (they would overflow int64).
    private const int HeadWindow = 256;

    /// <summary>
    /// Takes the next complete line off <paramref name="buffer"/>.
    /// Returns false when no complete line is buffered yet and the buffer is still within
    /// <paramref name="maxLineLength"/>; the caller reads more. Returns true with
    /// <see cref="ProtocolError.LineTooLong"/> when a line's content (terminator excluded) is longer than the
    /// limit, as soon as that is certain: the caller
    /// answers and closes instead of buffering the rest.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, int maxLineLength, out HaToKuSeCommand command)
    {
        var lineEnd = FindLineEnd(buffer, maxLineLength);
        if (lineEnd is not { } end)
        {
            // maxLineLength bytes of content plus a CR may still be followed by the LF.
            if (buffer.Length > (long)maxLineLength + 1)
            {
                command = HaToKuSeCommand.Invalid(ProtocolError.LineTooLong);
                return true;
            }

            command = default;
            return false;
        }

        var line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));

        if (!line.IsEmpty && LastByte(line) == (byte)'\r')
            line = line.Slice(0, line.Length - 1);

        if (line.Length > maxLineLength)
        {
            command = HaToKuSeCommand.Invalid(ProtocolError.LineTooLong);
            return true;
        }

        command = ParseLine(line);
        return true;
    }

    /// <summary>Parses one line that has already been cut from the stream (no LF; CR already dropped).</summary>
    public static HaToKuSeCommand ParseLine(ReadOnlySequence<byte> line)
    {
        Span<byte> scratch = stackalloc byte[HeadWindow];
        var head = Head(line, scratch);
        var pos = SkipBlanks(head, 0);
        if (pos == head.Length)
            return line.Length > head.Length ? ParseLong(line) : new HaToKuSeCommand(CommandKind.Empty);

        var keywordEnd = TokenEnd(head, pos);
        var keyword = head[pos..keywordEnd];

        if (Ascii.EqualsIgnoreCase(keyword, "SET"u8))
            return ParseSet(line, head, keywordEnd);

        if (Ascii.EqualsIgnoreCase(keyword, "AUTH"u8))
        {
            // Like a SET message, the password is every byte after the one separator.
            return keywordEnd < head.Length && keywordEnd + 1 < line.Length
                ? new HaToKuSeCommand(CommandKind.Auth, Payload: line.Slice(keywordEnd + 1))
                : HaToKuSeCommand.Invalid(ProtocolError.AuthUsage);
        }

        if (Ascii.EqualsIgnoreCase(keyword, "DECOMMISSION"u8))
        {
            // One token: an address, identity or name, kept as a slice of the line.
            var start = SkipBlanks(head, keywordEnd);
            var end = TokenEnd(head, start);
            return start < head.Length && SkipBlanks(head, end) == head.Length && line.Length == head.Length
                ? new HaToKuSeCommand(CommandKind.Decommission, Payload: line.Slice(start, end - start))
                : HaToKuSeCommand.Invalid(ProtocolError.DecommissionUsage);
        }

        if (IsNumber(keyword))
        {
            // "<N> SET <message>": the only command that starts with a number.
            var next = SkipBlanks(head, keywordEnd);
            var nextEnd = TokenEnd(head, next);
            if (next < head.Length && Ascii.EqualsIgnoreCase(head[next..nextEnd], "SET"u8))
                return ParseBulk(line, head, keyword, nextEnd);
            return HaToKuSeCommand.Invalid(ProtocolError.UnknownCommand);
        }

        if (line.Length > head.Length)
            return ParseLong(line);

        return ParseSimple(head, keyword, keywordEnd);
    }

    private static HaToKuSeCommand ParseSet(ReadOnlySequence<byte> line, ReadOnlySpan<byte> head, int afterKeyword)
    {
        var idStart = SkipBlanks(head, afterKeyword);
        if (idStart == head.Length)
            return HaToKuSeCommand.Invalid(ProtocolError.SetUsage);

        var idEnd = TokenEnd(head, idStart);
        if (idEnd == head.Length)
        {
            // The id runs to the end of the window: either the line ends there (no message) or the
            // "id" is longer than any int64 could be. A missing message is a usage
            // error whatever the id looks like.
            return HaToKuSeCommand.Invalid(line.Length > head.Length ? ProtocolError.IdNotNumeric : ProtocolError.SetUsage);
        }

        if (!IsId(head[idStart..idEnd], out var id))
            return HaToKuSeCommand.Invalid(ProtocolError.IdNotNumeric);

        // Exactly one separator after the id; everything after it is the message, byte for byte.
        return new HaToKuSeCommand(CommandKind.Set, Id: id, Payload: line.Slice(idEnd + 1));
    }

    private static HaToKuSeCommand ParseBulk(ReadOnlySequence<byte> line, ReadOnlySpan<byte> head, ReadOnlySpan<byte> countToken, int afterSet)
    {
        if (!IsId(countToken, out var count) || count <= 0)
            return HaToKuSeCommand.Invalid(ProtocolError.CountNotValid);
        if (afterSet == head.Length)
            return HaToKuSeCommand.Invalid(ProtocolError.BulkUsage);
        return new HaToKuSeCommand(CommandKind.BulkSet, Count: count, Payload: line.Slice(afterSet + 1));
    }

    private static HaToKuSeCommand ParseSimple(ReadOnlySpan<byte> line, ReadOnlySpan<byte> keyword, int keywordEnd)
    {
        // Remaining tokens, for commands that take arguments.
        var a1Start = SkipBlanks(line, keywordEnd);
        var a1End = TokenEnd(line, a1Start);
        var a2Start = SkipBlanks(line, a1End);
        var argCount = a1Start == line.Length ? 0 : a2Start == line.Length ? 1 : 2;

        var isGet = Ascii.EqualsIgnoreCase(keyword, "GET"u8);
        if (isGet || Ascii.EqualsIgnoreCase(keyword, "DEL"u8))
        {
            if (argCount != 1)
                return HaToKuSeCommand.Invalid(isGet ? ProtocolError.GetUsage : ProtocolError.DelUsage);
            return IsId(line[a1Start..a1End], out var id)
                ? new HaToKuSeCommand(isGet ? CommandKind.Get : CommandKind.Del, Id: id)
                : HaToKuSeCommand.Invalid(ProtocolError.IdNotNumeric);
        }

        // Extra tokens after these keywords are ignored.
        if (Ascii.EqualsIgnoreCase(keyword, "HELP"u8))
            return new HaToKuSeCommand(CommandKind.Help);
        if (Ascii.EqualsIgnoreCase(keyword, "QUIT"u8) || Ascii.EqualsIgnoreCase(keyword, "EXIT"u8))
            return new HaToKuSeCommand(CommandKind.Quit);
        if (Ascii.EqualsIgnoreCase(keyword, "PING"u8))
            return new HaToKuSeCommand(CommandKind.Ping);
        if (Ascii.EqualsIgnoreCase(keyword, "MEMBERS"u8))
            return new HaToKuSeCommand(CommandKind.Members);
        if (Ascii.EqualsIgnoreCase(keyword, "STATUS"u8))
            return new HaToKuSeCommand(CommandKind.Status);

        if (Ascii.EqualsIgnoreCase(keyword, "PROMPT"u8))
        {
            if (argCount == 1)
            {
                var arg = line[a1Start..a1End];
                if (Ascii.EqualsIgnoreCase(arg, "ON"u8))
                    return new HaToKuSeCommand(CommandKind.Prompt, Flag: true);
                if (Ascii.EqualsIgnoreCase(arg, "OFF"u8))
                    return new HaToKuSeCommand(CommandKind.Prompt, Flag: false);
            }

            return HaToKuSeCommand.Invalid(ProtocolError.PromptUsage);
        }

        return HaToKuSeCommand.Invalid(ProtocolError.UnknownCommand);
    }

    // Lines longer than the head window that are not SET/bulk (e.g. "GET 1" plus many spaces) are rare;
    // they are copied once so that tokenizing sees the whole line.
    private static HaToKuSeCommand ParseLong(ReadOnlySequence<byte> line)
    {
        var rented = ArrayPool<byte>.Shared.Rent((int)line.Length);
        try
        {
            line.CopyTo(rented);
            var span = rented.AsSpan(0, (int)line.Length);
            var pos = SkipBlanks(span, 0);
            if (pos == span.Length)
                return new HaToKuSeCommand(CommandKind.Empty);
            var keywordEnd = TokenEnd(span, pos);
            return ParseSimple(span, span[pos..keywordEnd], keywordEnd);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static ReadOnlySpan<byte> Head(ReadOnlySequence<byte> line, Span<byte> scratch)
    {
        var first = line.FirstSpan;
        if (first.Length >= scratch.Length || first.Length == line.Length)
            return first.Length > scratch.Length ? first[..scratch.Length] : first;

        var length = (int)Math.Min(line.Length, scratch.Length);
        line.Slice(0, length).CopyTo(scratch);
        return scratch[..length];
    }

    private static SequencePosition? FindLineEnd(ReadOnlySequence<byte> buffer, int maxLineLength)
    {
        // Look no further than the limit allows: a peer streaming megabytes without a newline is
        // answered as soon as the limit is crossed, not after everything has been searched.
        var searchable = buffer.Length > (long)maxLineLength + 2 ? buffer.Slice(0, (long)maxLineLength + 2) : buffer;
        return searchable.PositionOf((byte)'\n');
    }

    private static byte LastByte(ReadOnlySequence<byte> line) =>
        line.IsSingleSegment ? line.FirstSpan[^1] : line.Slice(line.Length - 1).FirstSpan[0];

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static int SkipBlanks(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && IsBlank(s[i]))
            i++;
        return i;
    }

    private static int TokenEnd(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && !IsBlank(s[i]))
            i++;
        return i;
    }

    private static bool IsNumber(ReadOnlySpan<byte> token)
    {
        var digits = token.Length > 0 && token[0] is (byte)'+' or (byte)'-' ? token[1..] : token;
        return !digits.IsEmpty && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }

    /// <summary>A signed decimal int64 (optional sign, leading zeros allowed), nothing else.</summary>
    private static bool IsId(ReadOnlySpan<byte> token, out long value)
    {
        value = 0;
        if (!IsNumber(token))
            return false;

        var negative = token[0] == (byte)'-';
        var digits = token[0] is (byte)'+' or (byte)'-' ? token[1..] : token;
        // Utf8Parser accepts a leading '-' but not '+'; handle the sign ourselves so both work.
        Span<byte> buffer = stackalloc byte[digits.Length + 1];
        buffer[0] = (byte)'-';
        digits.CopyTo(buffer[1..]);
        var text = negative ? buffer : buffer[1..];
        return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;
    }
}
