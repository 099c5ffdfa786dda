using System.Globalization;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

/// <summary>One segment file. Only the writer appends (to the active segment); anyone may read.</summary>
internal sealed class LogSegment(int number, string path, IStorageFile file)
{
    public int Number { get; } = number;
    /// <summary>Changes once, when a compaction output is renamed from its temporary name.</summary>
    public string Path { get; set; } = path;
    public IStorageFile File { get; } = file;
    /// <summary>Bytes of valid records; the next append goes here.</summary>
    public long Length { get; set; }
    /// <summary>Zeroed space beyond <see cref="Length"/> (active segment only; trimmed when sealed).</summary>
    public Preallocation? Space { get; set; }

    public static string NameOf(int number, string suffix) => number.ToString("D10", CultureInfo.InvariantCulture) + suffix;

    public static bool TryParseName(string name, string suffix, out int number) =>
        int.TryParse(name.AsSpan(0, name.Length - suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0;
}
