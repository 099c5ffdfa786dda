namespace Tolerex.Client.Report;

/// <summary>A problem with one input (or the output) that the user must fix; printed as one
/// <c>ERROR: file:line: what</c> line instead of a stack trace. Line 0 means the file as a whole.</summary>
internal sealed class ReportInputException(string file, int line, string what) : Exception(FormattableString.Invariant($"{file}:{line}: {what}"))
{
    /// <summary>Turns the ways opening or reading a file can fail into a message without a stack trace.</summary>
    public static ReportInputException FromIo(string file, int line, Exception exception) => new(file, line, exception switch
    {
        FileNotFoundException or DirectoryNotFoundException => "file not found",
        UnauthorizedAccessException => "permission denied",
        _ => "cannot read: " + exception.Message,
    });

    /// <summary>Input text quoted in a message, cut short so one bad field cannot flood the terminal.</summary>
    public static string Quote(string value)
    {
        var shown = new string(value.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length <= 40 ? $"\"{shown}\"" : $"\"{shown}…\"";
    }
}
