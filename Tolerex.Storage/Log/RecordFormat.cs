namespace Tolerex.Storage.Log;

/// <summary>
/// What identifies one log's records on disk: two magic bytes (so recovery can find the next record after a
/// damaged one, and never mistakes one log's files for another's) and, for logs written before records were
/// sealed, the format version whose checksums carry no seal.
/// </summary>
public sealed record RecordFormat(byte Magic0, byte Magic1, byte? UnsealedVersion = null)
{
    /// <summary>The version written today.</summary>
    public const byte CurrentVersion = 3;

    internal bool Accepts(byte version) => version == CurrentVersion || version == UnsealedVersion;
}
