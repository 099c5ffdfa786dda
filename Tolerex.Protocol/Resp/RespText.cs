namespace Tolerex.Protocol.Resp;

/// <summary>
/// Fixed RESP2 replies, each a complete reply ending in CRLF, so the leader writes them with one copy.
/// Error replies start with an error code (<c>ERR</c>, <c>NOAUTH</c> …) that clients such as
/// StackExchange.Redis match on.
/// </summary>
public static class RespText
{
    public static ReadOnlySpan<byte> Ok => "+OK\r\n"u8;
    public static ReadOnlySpan<byte> Pong => "+PONG\r\n"u8;
    public static ReadOnlySpan<byte> NullBulk => "$-1\r\n"u8;
    public static ReadOnlySpan<byte> EmptyArray => "*0\r\n"u8;
    public static ReadOnlySpan<byte> Zero => ":0\r\n"u8;
    public static ReadOnlySpan<byte> One => ":1\r\n"u8;

    /// <summary>Keys are message ids: the store is indexed by 64-bit integers, not by arbitrary strings.</summary>
    public static ReadOnlySpan<byte> KeyNotId => "-ERR key must be a 64-bit integer id\r\n"u8;
    public static ReadOnlySpan<byte> UnknownCommand => "-ERR unknown command\r\n"u8;
    public static ReadOnlySpan<byte> WrongArgumentCount => "-ERR wrong number of arguments\r\n"u8;
    public static ReadOnlySpan<byte> NotAnInteger => "-ERR value is not an integer or out of range\r\n"u8;
    public static ReadOnlySpan<byte> NoAuth => "-NOAUTH Authentication required.\r\n"u8;
    public static ReadOnlySpan<byte> WrongPass => "-WRONGPASS invalid password\r\n"u8;
    public static ReadOnlySpan<byte> NoPasswordSet => "-ERR AUTH <password> called without any password configured\r\n"u8;
    /// <summary>There is one database: <c>SELECT 0</c> is accepted, any other index is not.</summary>
    public static ReadOnlySpan<byte> DbIndexOutOfRange => "-ERR DB index is out of range\r\n"u8;
    /// <summary><c>HELLO 3</c>: only RESP2 is spoken; clients then fall back to it.</summary>
    public static ReadOnlySpan<byte> NoProto => "-NOPROTO unsupported protocol version\r\n"u8;
    public static ReadOnlySpan<byte> StoreFailed => "-ERR store failed\r\n"u8;
    public static ReadOnlySpan<byte> RetrieveFailed => "-ERR retrieve failed\r\n"u8;
    public static ReadOnlySpan<byte> DeleteFailed => "-ERR delete failed\r\n"u8;
    public static ReadOnlySpan<byte> NoLeader => "-ERR no leader\r\n"u8;
    public static ReadOnlySpan<byte> SyntaxError => "-ERR syntax error\r\n"u8;
    public static ReadOnlySpan<byte> UnknownSubcommand => "-ERR unknown subcommand\r\n"u8;
    /// <summary><c>CONFIG SET</c> and the like: settings come from the node's configuration (Tolerex:Leader) and a restart.</summary>
    public static ReadOnlySpan<byte> ConfigReadOnly => "-ERR CONFIG can only GET here: Tolerex is configured through its Tolerex:Leader settings\r\n"u8;
    /// <summary>Redis's own text, which client libraries recognise.</summary>
    public static ReadOnlySpan<byte> TooManyConnections => "-ERR max number of clients reached\r\n"u8;
    /// <summary>A request left incomplete for too long; the connection closes.</summary>
    public static ReadOnlySpan<byte> RequestTimeout => "-ERR Protocol error: request timeout\r\n"u8;
    /// <summary>A request larger in total than the server buffers; the connection closes.</summary>
    public static ReadOnlySpan<byte> RequestTooLarge => "-ERR Protocol error: request too large\r\n"u8;

    /// <summary>The reply for a request the parser rejected; the texts follow Redis's where Redis has one.</summary>
    public static ReadOnlySpan<byte> Message(RespError error) => error switch
    {
        RespError.ProtocolError => "-ERR Protocol error: expected CRLF after bulk data\r\n"u8,
        RespError.InvalidMultibulkLength => "-ERR Protocol error: invalid multibulk length\r\n"u8,
        RespError.TooManyArguments => "-ERR Protocol error: too many arguments\r\n"u8,
        RespError.ExpectedBulk => "-ERR Protocol error: expected '$'\r\n"u8,
        RespError.InvalidBulkLength => "-ERR Protocol error: invalid bulk length\r\n"u8,
        RespError.BulkTooLarge => "-ERR Protocol error: bulk string too large\r\n"u8,
        RespError.InlineTooLong => "-ERR Protocol error: too big inline request\r\n"u8,
        _ => "-ERR Protocol error\r\n"u8,
    };
}
