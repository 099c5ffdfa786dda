using System.Buffers;
using System.Buffers.Text;

namespace Tolerex.Protocol.Resp;

/// <summary>
/// One parsed request, reused for every request of a connection so that parsing allocates nothing once its
/// slot array has grown to the largest request seen. <see cref="Name"/> and the arguments are slices of the
/// receive buffer: they stay valid only until the reader advances past them, so callers copy what they keep
/// before releasing the buffer. The next <see cref="RespParser.TryParse"/> call overwrites everything.
/// </summary>
public sealed class RespRequest
{
    // The longest id: "-9223372036854775808".
    private const int MaxIdLength = 20;

    // Element 0 is the command name, then the arguments. Grown by doubling as elements arrive, never sized
    // from the peer's announced count, so a "*1000000" header costs nothing until the elements come.
    private ReadOnlySequence<byte>[] _elements = new ReadOnlySequence<byte>[8];
    private int _count;

    public RespCommandKind Kind { get; private set; }

    /// <summary>Set when <see cref="RespParser.TryParse"/> returned <see cref="RespParseResult.Invalid"/>.</summary>
    public RespError Error { get; internal set; }

    /// <summary>The command name as sent (any case); empty when no request has been parsed.</summary>
    public ReadOnlySequence<byte> Name => _count > 0 ? _elements[0] : default;

    /// <summary>How many arguments follow the name.</summary>
    public int ArgumentCount => _count > 0 ? _count - 1 : 0;

    /// <summary>Argument <paramref name="index"/> (0 is the first after the name), byte for byte.</summary>
    public ReadOnlySequence<byte> Argument(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ArgumentCount);
        return _elements[index + 1];
    }

    /// <summary>
    /// Argument <paramref name="index"/> as a message id: a signed 64-bit decimal, an optional leading '-'
    /// then digits only (no '+', no blanks, no overflow). Keys are ids in this store, so <c>SET 7 x</c> works
    /// and <c>SET user:1 x</c> is refused.
    /// </summary>
    public bool TryGetId(int index, out long id)
    {
        id = 0;
        var argument = Argument(index);
        if (argument.IsEmpty || argument.Length > MaxIdLength)
            return false;

        Span<byte> text = stackalloc byte[MaxIdLength];
        text = text[..(int)argument.Length];
        argument.CopyTo(text);
        var digits = text[0] == (byte)'-' ? text[1..] : text;
        // Utf8Parser would also take a '+'; Redis's integers do not.
        if (digits.IsEmpty || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
            return false;
        return Utf8Parser.TryParse(text, out id, out var consumed) && consumed == text.Length;
    }

    internal int ElementCount => _count;

    internal void Reset()
    {
        // Drop the references to the previous buffer's segments; they go back to the pipe's pool.
        Array.Clear(_elements, 0, _count);
        _count = 0;
        Kind = RespCommandKind.Unknown;
        Error = RespError.None;
    }

    internal void Add(ReadOnlySequence<byte> element)
    {
        if (_count == _elements.Length)
            Array.Resize(ref _elements, _elements.Length * 2);
        _elements[_count++] = element;
    }

    internal void Complete() => Kind = RespCommandNames.KindOf(_elements[0]);

    internal void Fail(RespError error)
    {
        Reset();
        Error = error;
    }
}
