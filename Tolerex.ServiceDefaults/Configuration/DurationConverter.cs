using System.ComponentModel;
using System.Globalization;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>
/// Lets configuration give durations as <c>500ms</c>, <c>2s</c>, <c>1m</c> or <c>1h</c> besides a TimeSpan
/// (<c>00:00:02</c>); <c>0</c> and <c>off</c> mean zero. The options binder converts through
/// <see cref="TypeDescriptor"/>, so registering this once serves every duration option.
/// </summary>
public sealed class DurationConverter : TimeSpanConverter
{
    private static int _registered;

    /// <summary>Makes every TimeSpan bound from configuration accept these forms (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
    }

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text
            ? TryParse(text, out var duration) ? duration : throw new FormatException("must be a duration such as 500ms, 2s, 1m, 1h or 00:00:02")
            : base.ConvertFrom(context, culture, value);

    public static bool TryParse(string text, out TimeSpan value)
    {
        var raw = text.Trim();
        if (raw is "0" or "off")
        {
            value = TimeSpan.Zero;
            return true;
        }

        (string Suffix, double Milliseconds)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, milliseconds) in units)
        {
            if (raw.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(raw[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n))
            {
                value = TimeSpan.FromMilliseconds(n * milliseconds);
                return true;
            }
        }

        // A TimeSpan needs its colons: a bare number ("2") would otherwise mean days.
        value = default;
        return raw.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out value);
    }
}
