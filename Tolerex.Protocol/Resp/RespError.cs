namespace Tolerex.Protocol.Resp;

/// <summary>
/// Why a request could not be framed. Each is a protocol error: the connection answers with
/// <see cref="RespText.Message(RespError)"/> and closes, as Redis does, because the stream can no longer be
/// split into requests reliably.
/// </summary>
public enum RespError
{
    None,
    /// <summary>A bulk string's data is not followed by CRLF.</summary>
    ProtocolError,
    /// <summary>The <c>*&lt;n&gt;</c> count is not a number (or a negative other than -1).</summary>
    InvalidMultibulkLength,
    /// <summary>More elements (multibulk count or inline words) than <see cref="RespLimits.MaxArguments"/> + 1.</summary>
    TooManyArguments,
    /// <summary>A multibulk element does not start with <c>$</c>.</summary>
    ExpectedBulk,
    /// <summary>The <c>$&lt;len&gt;</c> length is not a number or is negative.</summary>
    InvalidBulkLength,
    /// <summary>The <c>$&lt;len&gt;</c> length is over <see cref="RespLimits.MaxBulkBytes"/>; decided from the header alone.</summary>
    BulkTooLarge,
    /// <summary>An inline line longer than <see cref="RespLimits.MaxInlineBytes"/>.</summary>
    InlineTooLong,
}
