using System.Buffers;

namespace Tolerex.Protocol.HaToKuSe;

/// <summary>
/// One parsed line. <see cref="Payload"/> is a slice of the receive buffer: it stays valid only until
/// the reader advances past it, so callers copy it before releasing the buffer.
/// </summary>
public readonly record struct HaToKuSeCommand(
    CommandKind Kind,
    long Id = 0,
    long Count = 0,
    ReadOnlySequence<byte> Payload = default,
    bool Flag = false,
    ProtocolError Error = ProtocolError.None)
{
    public static HaToKuSeCommand Invalid(ProtocolError error) => new(CommandKind.Invalid, Error: error);
}
