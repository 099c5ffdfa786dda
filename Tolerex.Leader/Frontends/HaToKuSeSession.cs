namespace Tolerex.Leader.Frontends;

/// <summary>The state of one HaToKuSe connection.</summary>
internal sealed class HaToKuSeSession : ClientSession
{
    public bool Prompt { get; set; }
}
