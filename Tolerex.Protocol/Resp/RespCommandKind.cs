using System.Buffers;
using System.Text;

namespace Tolerex.Protocol.Resp;

/// <summary>
/// The commands the Redis-compatible port understands, recognised from the first element of a request
/// (case-insensitive ASCII, as Redis does: <c>set</c>, <c>SeT</c> …). Anything else is <see cref="Unknown"/>,
/// which the server answers with an error while keeping the connection.
/// </summary>
public enum RespCommandKind
{
    Unknown,
    Set,
    Get,
    /// <summary><c>DEL</c>, and <c>UNLINK</c> (StackExchange.Redis deletes with it): a delete is durable before its reply either way.</summary>
    Del,
    Exists,
    MSet,
    MGet,
    Ping,
    Echo,
    Quit,
    Select,
    /// <summary>Sent first by StackExchange.Redis and redis-cli 7+; only RESP2 is served.</summary>
    Hello,
    /// <summary><c>CLIENT SETNAME</c>, <c>CLIENT SETINFO</c> …: clients send these on connect.</summary>
    Client,
    /// <summary><c>COMMAND</c> / <c>COMMAND DOCS</c>: redis-cli asks for it on start.</summary>
    Command,
    Info,
    DbSize,
    Auth,
    /// <summary><c>CONFIG GET</c>: redis-benchmark asks for <c>save</c> and <c>appendonly</c> on start; nothing is set through it.</summary>
    Config,
}

/// <summary>Maps a request's first element to its <see cref="RespCommandKind"/>.</summary>
internal static class RespCommandNames
{
    // Longer than any known name ("command"): such names are Unknown without being looked at.
    private const int MaxNameLength = 7;

    public static RespCommandKind KindOf(ReadOnlySequence<byte> name)
    {
        if (name.Length is 0 or > MaxNameLength)
            return RespCommandKind.Unknown;

        Span<byte> scratch = stackalloc byte[MaxNameLength];
        var first = name.FirstSpan;
        ReadOnlySpan<byte> text = first.Length == name.Length ? first : Copy(name, scratch);
        return KindOf(text);
    }

    private static ReadOnlySpan<byte> Copy(ReadOnlySequence<byte> name, Span<byte> scratch)
    {
        var text = scratch[..(int)name.Length];
        name.CopyTo(text);
        return text;
    }

    private static RespCommandKind KindOf(ReadOnlySpan<byte> n) => n.Length switch
    {
        3 when Ascii.EqualsIgnoreCase(n, "SET"u8) => RespCommandKind.Set,
        3 when Ascii.EqualsIgnoreCase(n, "GET"u8) => RespCommandKind.Get,
        3 when Ascii.EqualsIgnoreCase(n, "DEL"u8) => RespCommandKind.Del,
        4 when Ascii.EqualsIgnoreCase(n, "MSET"u8) => RespCommandKind.MSet,
        4 when Ascii.EqualsIgnoreCase(n, "MGET"u8) => RespCommandKind.MGet,
        4 when Ascii.EqualsIgnoreCase(n, "PING"u8) => RespCommandKind.Ping,
        4 when Ascii.EqualsIgnoreCase(n, "ECHO"u8) => RespCommandKind.Echo,
        4 when Ascii.EqualsIgnoreCase(n, "QUIT"u8) => RespCommandKind.Quit,
        4 when Ascii.EqualsIgnoreCase(n, "INFO"u8) => RespCommandKind.Info,
        4 when Ascii.EqualsIgnoreCase(n, "AUTH"u8) => RespCommandKind.Auth,
        5 when Ascii.EqualsIgnoreCase(n, "HELLO"u8) => RespCommandKind.Hello,
        6 when Ascii.EqualsIgnoreCase(n, "EXISTS"u8) => RespCommandKind.Exists,
        6 when Ascii.EqualsIgnoreCase(n, "SELECT"u8) => RespCommandKind.Select,
        6 when Ascii.EqualsIgnoreCase(n, "CLIENT"u8) => RespCommandKind.Client,
        6 when Ascii.EqualsIgnoreCase(n, "DBSIZE"u8) => RespCommandKind.DbSize,
        6 when Ascii.EqualsIgnoreCase(n, "UNLINK"u8) => RespCommandKind.Del,
        6 when Ascii.EqualsIgnoreCase(n, "CONFIG"u8) => RespCommandKind.Config,
        7 when Ascii.EqualsIgnoreCase(n, "COMMAND"u8) => RespCommandKind.Command,
        _ => RespCommandKind.Unknown,
    };
}
