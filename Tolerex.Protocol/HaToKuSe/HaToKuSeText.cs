namespace Tolerex.Protocol.HaToKuSe;

/// <summary>The protocol's fixed texts (CRLF line ends): clients match them byte for byte.</summary>
public static class HaToKuSeText
{
    public static ReadOnlySpan<byte> Banner =>
        "--------------------------------------------------\r\n"u8 +
        "TOLEREX - Leader Node (Control Plane)\r\n"u8 +
        "--------------------------------------------------\r\n"u8 +
        "\r\n"u8 +
        "Basic Commands:\r\n"u8 +
        "  SET <id> <message>        Store a message\r\n"u8 +
        "  <N> SET <message>         Bulk store N messages\r\n"u8 +
        "  GET <id>                  Retrieve a message\r\n"u8 +
        "\r\n"u8 +
        "Utility:\r\n"u8 +
        "  HELP                      Show this help\r\n"u8 +
        "  QUIT | EXIT               Disconnect client\r\n"u8 +
        "\r\n"u8 +
        "Examples:\r\n"u8 +
        "  SET 10 HELLO\r\n"u8 +
        "  1000 SET HELLO\r\n"u8 +
        "--------------------------------------------------\r\n"u8;

    /// <summary>HELP shows the banner, then the commands beyond the basic ones.</summary>
    public static ReadOnlySpan<byte> HelpExtra =>
        "More:\r\n"u8 +
        "  DEL <id>                  Delete a message\r\n"u8 +
        "  PING                      Check the connection (PONG)\r\n"u8 +
        "  MEMBERS                   List members, then END\r\n"u8 +
        "  STATUS                    Leader state (key=value lines), then END\r\n"u8 +
        "  DECOMMISSION <member>     Move every copy off a member (address or name)\r\n"u8 +
        "  PROMPT ON|OFF             Prompt on/off for this connection\r\n"u8 +
        "  AUTH <password>           Authenticate (when a password is set)\r\n"u8 +
        "--------------------------------------------------\r\n"u8;

    public static ReadOnlySpan<byte> Prompt => "tolerex> "u8;
    public static ReadOnlySpan<byte> NewLine => "\r\n"u8;
    public static ReadOnlySpan<byte> Ok => "OK\r\n"u8;
    public static ReadOnlySpan<byte> NotFound => "NOT_FOUND\r\n"u8;
    public static ReadOnlySpan<byte> Bye => "Bye\r\n"u8;
    public static ReadOnlySpan<byte> Pong => "PONG\r\n"u8;
    public static ReadOnlySpan<byte> End => "END\r\n"u8;
    public static ReadOnlySpan<byte> StoreFailed => "ERROR: store failed\r\n"u8;
    public static ReadOnlySpan<byte> RetrieveFailed => "ERROR: retrieve failed\r\n"u8;
    public static ReadOnlySpan<byte> AuthRequired => "ERROR: auth required\r\n"u8;
    public static ReadOnlySpan<byte> InvalidPassword => "ERROR: invalid password\r\n"u8;
    public static ReadOnlySpan<byte> NoPasswordSet => "ERROR: AUTH used but no password is set\r\n"u8;
    public static ReadOnlySpan<byte> TooManyConnections => "ERROR: too many connections\r\n"u8;
    public static ReadOnlySpan<byte> DeleteFailed => "ERROR: delete failed\r\n"u8;
    public static ReadOnlySpan<byte> LineTimeout => "ERROR: line timeout\r\n"u8;
    public static ReadOnlySpan<byte> NoLeader => "ERROR: no leader\r\n"u8;
    public static ReadOnlySpan<byte> UnknownMember => "ERROR: no such member\r\n"u8;
    public static ReadOnlySpan<byte> DecommissionFailed => "ERROR: decommission failed\r\n"u8;
    public static ReadOnlySpan<byte> NoFreeIds => "ERROR: store failed (no free ids left above the highest id)\r\n"u8;

    /// <summary>The one error line for a rejected command. <see cref="ProtocolError.CountNotValid"/> is written by
    /// <see cref="HaToKuSeWriter.WriteCountError"/> because it names the configured maximum.</summary>
    public static ReadOnlySpan<byte> ErrorLine(ProtocolError error) => error switch
    {
        ProtocolError.SetUsage => "ERROR: SET <id> <message>\r\n"u8,
        ProtocolError.GetUsage => "ERROR: GET <id>\r\n"u8,
        ProtocolError.DelUsage => "ERROR: DEL <id>\r\n"u8,
        ProtocolError.BulkUsage => "ERROR: <N> SET <message>\r\n"u8,
        ProtocolError.PromptUsage => "ERROR: PROMPT ON|OFF\r\n"u8,
        ProtocolError.AuthUsage => "ERROR: AUTH <password>\r\n"u8,
        ProtocolError.DecommissionUsage => "ERROR: DECOMMISSION <member>\r\n"u8,
        ProtocolError.IdNotNumeric => "ERROR: id must be numeric\r\n"u8,
        ProtocolError.CountNotValid => "ERROR: count must be a positive number\r\n"u8,
        ProtocolError.LineTooLong => "ERROR: line too long\r\n"u8,
        _ => "ERROR: unknown command\r\n"u8,
    };
}
