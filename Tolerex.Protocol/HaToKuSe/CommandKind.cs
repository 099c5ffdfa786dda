namespace Tolerex.Protocol.HaToKuSe;

/// <summary>What a HaToKuSe line asks for.</summary>
public enum CommandKind
{
    /// <summary>An empty or whitespace-only line: answered with a prompt only.</summary>
    Empty,
    Set,
    Get,
    /// <summary><c>DEL &lt;id&gt;</c>: tombstones on the replicas, index entry removed.</summary>
    Del,
    /// <summary><c>&lt;N&gt; SET &lt;message&gt;</c>: N messages under fresh ids chosen by the leader.</summary>
    BulkSet,
    Help,
    Quit,
    Ping,
    Members,
    /// <summary><c>STATUS</c>: the leader's state as <c>key=value</c> lines, then <c>END</c>.</summary>
    Status,
    /// <summary><c>DECOMMISSION &lt;member&gt;</c>: the member (address, identity or name, in <see cref="HaToKuSeCommand.Payload"/>) leaves; its copies move.</summary>
    Decommission,
    /// <summary><c>PROMPT ON|OFF</c>: turns the prompt and banner on or off for this connection.</summary>
    Prompt,
    /// <summary><c>AUTH &lt;password&gt;</c>: the password is every byte after the separator (in <see cref="HaToKuSeCommand.Payload"/>).</summary>
    Auth,
    /// <summary>The line could not be understood; <see cref="HaToKuSeCommand.Error"/> says why.</summary>
    Invalid,
}

/// <summary>Why a line was rejected. Each maps to exactly one <c>ERROR: …</c> reply.</summary>
public enum ProtocolError
{
    None,
    SetUsage,
    GetUsage,
    DelUsage,
    BulkUsage,
    PromptUsage,
    AuthUsage,
    DecommissionUsage,
    IdNotNumeric,
    CountNotValid,
    UnknownCommand,
    /// <summary>No line end within the maximum line length; the connection must close.</summary>
    LineTooLong,
}
