using System.Buffers;
using System.Buffers.Text;

namespace Tolerex.Protocol.Resp;

/// <summary>What <see cref="RespParser.TryParse"/> found at the start of the buffer.</summary>
public enum RespParseResult
{
    /// <summary>No complete request yet: the caller reads more (the buffer moved only past skipped empty requests).</summary>
    NeedMore,
    /// <summary>The request is filled in and the buffer advanced past it.</summary>
    Parsed,
    /// <summary><see cref="RespRequest.Error"/> says why; the caller answers with its message and closes.</summary>
    Invalid,
}

/// <summary>
/// Bounds on what a peer may make the server buffer. All must be positive.
/// <paramref name="MaxArguments"/> counts the arguments after the command name.
/// </summary>
public readonly record struct RespLimits(int MaxBulkBytes, int MaxArguments, int MaxInlineBytes);

/// <summary>
/// Frames RESP2 requests straight out of a receive buffer, without allocating, in the two forms Redis accepts:
/// <list type="bullet">
/// <item>multibulk, what every client library sends: <c>*&lt;n&gt;\r\n</c> then n times
/// <c>$&lt;len&gt;\r\n&lt;len bytes&gt;\r\n</c>, binary-safe. <c>*0</c> and <c>*-1</c> are skipped, as Redis does.</item>
/// <item>inline, for telnet and health checks: any line not starting with <c>*</c>, ending at LF (a CR before it
/// dropped), split into words on runs of blanks (space, tab, CR, VT, FF: C's isspace, as Redis splits).
/// Unlike Redis, quotes have no meaning: <c>SET 1 "a b"</c> is four words. Blank lines are skipped.</item>
/// </list>
/// A request is parsed again from its start on each call until it is complete; only its headers are scanned,
/// never its bulk data, so a large value arriving in pieces costs little. Limits are enforced as soon as a
/// header (or enough of an inline line) is seen, so a peer can never make the server buffer more than the
/// limits allow.
/// </summary>
public static class RespParser
{
    // "*" or "$", then at most 20 characters ("-9223372036854775808"), then CRLF.
    private const int MaxNumberLength = 20;
    private const int HeaderWindow = 1 + MaxNumberLength + 2;

    private static ReadOnlySpan<byte> Blanks => " \t\r\v\f"u8;

    private enum Step
    {
        NeedMore,
        Parsed,
        Skipped,
        Invalid,
    }

    private enum NumberLine
    {
        Complete,
        NeedMore,
        Malformed,
    }

    /// <summary>
    /// Takes the next request off <paramref name="buffer"/> into <paramref name="request"/>.
    /// On <see cref="RespParseResult.NeedMore"/> the buffer has moved only past skipped empty requests (never
    /// into a partial one), so the caller advances its reader to <c>buffer.Start</c>, examined to
    /// <c>buffer.End</c>. On <see cref="RespParseResult.Invalid"/> the buffer is left at the offending request.
    /// </summary>
    public static RespParseResult TryParse(ref ReadOnlySequence<byte> buffer, RespRequest request, in RespLimits limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        while (true)
        {
            request.Reset();
            var reader = new SequenceReader<byte>(buffer);
            if (!reader.TryPeek(out var first))
                return RespParseResult.NeedMore;

            var step = first == (byte)'*'
                ? ParseMultibulk(ref reader, request, limits)
                : ParseInline(ref reader, request, limits);
            switch (step)
            {
                case Step.Skipped:
                    buffer = buffer.Slice(reader.Position);
                    continue;
                case Step.Parsed:
                    buffer = buffer.Slice(reader.Position);
                    request.Complete();
                    return RespParseResult.Parsed;
                case Step.Invalid:
                    return RespParseResult.Invalid;
                default:
                    request.Reset();
                    return RespParseResult.NeedMore;
            }
        }
    }

    private static Step ParseMultibulk(ref SequenceReader<byte> reader, RespRequest request, in RespLimits limits)
    {
        switch (ReadNumberLine(ref reader, out var count))
        {
            case NumberLine.NeedMore:
                return Step.NeedMore;
            case NumberLine.Malformed:
                return Fail(request, RespError.InvalidMultibulkLength);
        }

        if (count is 0 or -1)
            return Step.Skipped;
        if (count < 0)
            return Fail(request, RespError.InvalidMultibulkLength);
        if (count > limits.MaxArguments + 1L)
            return Fail(request, RespError.TooManyArguments);

        for (var i = 0; i < count; i++)
        {
            if (!reader.TryPeek(out var marker))
                return Step.NeedMore;
            if (marker != (byte)'$')
                return Fail(request, RespError.ExpectedBulk);

            switch (ReadNumberLine(ref reader, out var length))
            {
                case NumberLine.NeedMore:
                    return Step.NeedMore;
                case NumberLine.Malformed:
                    return Fail(request, RespError.InvalidBulkLength);
            }

            if (length < 0)
                return Fail(request, RespError.InvalidBulkLength);
            if (length > limits.MaxBulkBytes)
                return Fail(request, RespError.BulkTooLarge);
            if (reader.Remaining < length + 2)
                return Step.NeedMore;

            var start = reader.Position;
            reader.Advance(length);
            var data = reader.Sequence.Slice(start, reader.Position);
            if (!reader.IsNext("\r\n"u8, advancePast: true))
                return Fail(request, RespError.ProtocolError);
            request.Add(data);
        }

        return Step.Parsed;
    }

    private static Step ParseInline(ref SequenceReader<byte> reader, RespRequest request, in RespLimits limits)
    {
        // Look no further than the limit allows: a peer streaming megabytes without a newline is refused as
        // soon as the limit is crossed, not after everything has been searched.
        var rest = reader.UnreadSequence;
        long max = limits.MaxInlineBytes;
        var searchable = rest.Length > max + 2 ? rest.Slice(0, max + 2) : rest;
        if (searchable.PositionOf((byte)'\n') is not { } lf)
            return rest.Length > max + 1 ? Fail(request, RespError.InlineTooLong) : Step.NeedMore;

        var line = rest.Slice(0, lf);
        reader.Advance(line.Length + 1);
        // The CR of a CRLF is a blank, so the words never include it; only the limit needs it dropped.
        if (line.Length > max && !(line.Length == max + 1 && LastByte(line) == (byte)'\r'))
            return Fail(request, RespError.InlineTooLong);

        var words = new SequenceReader<byte>(line);
        while (true)
        {
            words.AdvancePastAny(Blanks);
            if (words.End)
                break;
            if (request.ElementCount > limits.MaxArguments)
                return Fail(request, RespError.TooManyArguments);

            if (words.TryReadToAny(out ReadOnlySequence<byte> word, Blanks, advancePastDelimiter: false))
            {
                request.Add(word);
            }
            else
            {
                request.Add(words.UnreadSequence);
                break;
            }
        }

        return request.ElementCount == 0 ? Step.Skipped : Step.Parsed;
    }

    /// <summary>
    /// Reads <c>&lt;marker&gt;&lt;number&gt;\r\n</c> at the reader and moves past it when complete. Malformed
    /// as soon as that is certain: a byte that cannot belong to a number, or no CR where one must be.
    /// </summary>
    private static NumberLine ReadNumberLine(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        Span<byte> scratch = stackalloc byte[HeaderWindow];
        var window = Peek(reader, scratch);
        var digits = window[1..];
        var cr = digits.IndexOf((byte)'\r');
        if (cr < 0)
            return digits.Length > MaxNumberLength || !IsNumberPrefix(digits) ? NumberLine.Malformed : NumberLine.NeedMore;
        if (!TryParseNumber(digits[..cr], out value))
            return NumberLine.Malformed;
        if (cr + 1 == digits.Length)
            return NumberLine.NeedMore;
        if (digits[cr + 1] != (byte)'\n')
            return NumberLine.Malformed;

        reader.Advance(1 + cr + 2);
        return NumberLine.Complete;
    }

    /// <summary>The next bytes, at most <see cref="HeaderWindow"/>, copied only when they span segments.</summary>
    private static ReadOnlySpan<byte> Peek(in SequenceReader<byte> reader, Span<byte> scratch)
    {
        var span = reader.UnreadSpan;
        if (span.Length >= scratch.Length)
            return span[..scratch.Length];
        if (span.Length == reader.Remaining)
            return span;

        var length = (int)Math.Min(reader.Remaining, scratch.Length);
        reader.TryCopyTo(scratch[..length]);
        return scratch[..length];
    }

    private static bool IsNumberPrefix(ReadOnlySpan<byte> s)
    {
        var digits = !s.IsEmpty && s[0] == (byte)'-' ? s[1..] : s;
        return digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }

    /// <summary>As Redis's <c>string2ll</c>: an optional '-', then digits without leading zeros; no '+', no blanks.</summary>
    private static bool TryParseNumber(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        var digits = !s.IsEmpty && s[0] == (byte)'-' ? s[1..] : s;
        if (digits.IsEmpty || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
            return false;
        if (digits[0] == (byte)'0' && (digits.Length > 1 || digits.Length != s.Length))
            return false;
        return Utf8Parser.TryParse(s, out value, out var consumed) && consumed == s.Length;
    }

    private static byte LastByte(ReadOnlySequence<byte> line) =>
        line.IsSingleSegment ? line.FirstSpan[^1] : line.Slice(line.Length - 1).FirstSpan[0];

    private static Step Fail(RespRequest request, RespError error)
    {
        request.Fail(error);
        return Step.Invalid;
    }
}
