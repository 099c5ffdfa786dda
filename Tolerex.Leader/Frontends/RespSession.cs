using Tolerex.Protocol.Resp;

namespace Tolerex.Leader.Frontends;

/// <summary>The state of one RESP connection.</summary>
internal sealed class RespSession : ClientSession
{
    private static long _lastId;

    /// <summary>The connection's request, parsed in place again for every command (its arguments are views of the receive buffer).</summary>
    public RespRequest Request { get; } = new();

    /// <summary>CLIENT ID.</summary>
    public long Id { get; } = Interlocked.Increment(ref _lastId);

    /// <summary>CLIENT SETNAME / HELLO SETNAME.</summary>
    public string? Name { get; set; }
}
