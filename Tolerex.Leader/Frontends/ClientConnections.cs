namespace Tolerex.Leader.Frontends;

/// <summary>Open client connections of both protocols together, held to MaxConnections (like Redis maxclients).</summary>
internal sealed class ClientConnections
{
    private int _open;

    /// <summary>Counts a new connection; false when it is one too many (it still counts until <see cref="Leave"/>).</summary>
    public bool Enter(int max) => Interlocked.Increment(ref _open) <= max;

    public void Leave() => Interlocked.Decrement(ref _open);
}
