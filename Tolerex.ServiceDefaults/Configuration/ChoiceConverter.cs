using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>
/// Converts configuration text to an enum through a fixed list of names (with aliases such as <c>p2c</c> or
/// <c>least_loaded</c>), so a setting accepts exactly the documented words and a wrong one is answered with
/// them: "must be buffered or unbuffered".
/// </summary>
public sealed class ChoiceConverter(Type type) : TypeConverter
{
    private static readonly ConcurrentDictionary<Type, (Dictionary<string, object> Values, string Names)> Choices = new();

    /// <summary>
    /// Makes configuration bind <typeparamref name="T"/> from these names only (case-insensitive); the first
    /// name of each value is the one shown in errors.
    /// </summary>
    public static void Register<T>(params (string Name, T Value)[] choices) where T : struct, Enum
    {
        var values = choices.ToDictionary(c => c.Name, c => (object)c.Value, StringComparer.OrdinalIgnoreCase);
        var shown = choices.DistinctBy(c => c.Value).Select(c => c.Name).ToList();
        var names = shown.Count == 1 ? shown[0] : $"{string.Join(", ", shown[..^1])} or {shown[^1]}";
        if (Choices.TryAdd(typeof(T), (values, names)))
            TypeDescriptor.AddAttributes(typeof(T), new TypeConverterAttribute(typeof(ChoiceConverter)));
    }

    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        if (value is not string text)
            return base.ConvertFrom(context, culture, value);
        var (values, names) = Choices[type];
        return values.TryGetValue(text.Trim(), out var choice) ? choice : throw new FormatException($"must be {names}");
    }
}
