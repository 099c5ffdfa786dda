using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

/// <summary>One segment file. Only the writer appends (to the active segment); anyone may read.</summary>
internal sealed class Segment(int number, string path, IStorageFile file)
{
    public const string Suffix = ".seg";

    public int Number { get; } = number;
    /// <summary>Changes once, when a compaction output is renamed from its temporary name.</summary>
    public string Path { get; set; } = path;
    public IStorageFile File { get; } = file;
    /// <summary>Bytes of valid records; the next append goes here.</summary>
    public long Length { get; set; }
    /// <summary>Zeroed space beyond <see cref="Length"/> (active segment only; trimmed when sealed).</summary>
    public Preallocation? Space { get; set; }

    public static string NameOf(int number) => number.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + Suffix;

    public static bool TryParseName(string name, out int number) =>
        int.TryParse(name.AsSpan(0, name.Length - Suffix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number);
}
