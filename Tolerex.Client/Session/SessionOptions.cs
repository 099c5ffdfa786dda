namespace Tolerex.Client.Session;

/// <summary>What the interactive and stress modes were asked to do (the root command's options).</summary>
internal sealed record SessionOptions
{
    /// <summary>Written in every CSV row (<c>--id</c>).</summary>
    public string ClientId { get; init; } = "client";

    /// <summary>Ids this client generates (bulk, FILE, stress) are <c>Offset+1, Offset+2, …</c>; the prober uses
    /// <c>Offset</c> itself. Clients given offsets further apart than their volume never touch each other's ids.</summary>
    public long Offset { get; init; }

    /// <summary>Bulk commands are written this many per send, and their replies read before the next send
    /// (<c>--flush</c>; 1 = one command per round trip, reported as Mode <c>unbuffered</c>).</summary>
    public int Flush { get; init; } = 1000;

    /// <summary>Run a prober on a second connection (<c>--measure</c>).</summary>
    public bool Measure { get; init; }

    /// <summary>Time between probes while a bulk or stress load runs.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public string? Password { get; init; }

    public ClientTls? Tls { get; init; }

    /// <summary>How long to keep trying the <c>--addr</c> list after a connection breaks.</summary>
    public TimeSpan ReconnectFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Show progress bars (only when stderr is a terminal).</summary>
    public bool Progress { get; init; }

    /// <summary>Print the client's own <c>tolerex> </c> prompt to the log (only when stdin is a terminal).</summary>
    public bool Prompt { get; init; }

    public string Mode => Flush == 1 ? "unbuffered" : "buffered";
}
