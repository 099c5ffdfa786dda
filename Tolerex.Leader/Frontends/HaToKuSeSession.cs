namespace Tolerex.Leader.Frontends;

/// <summary>The state of one HaToKuSe connection.</summary>
internal sealed class HaToKuSeSession
{
    public bool Prompt { get; set; }
    /// <summary>True once AUTH succeeded (or when no password is configured).</summary>
    public bool Authenticated { get; set; }
    /// <summary>Set by QUIT or a fatal protocol error: answer, flush, close.</summary>
    public bool Closing { get; set; }
}
