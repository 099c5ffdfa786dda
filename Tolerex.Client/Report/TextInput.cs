using System.Text;

namespace Tolerex.Client.Report;

internal static class TextInput
{
    // Invalid bytes decode to U+FFFD rather than throw: the decoder works a buffer ahead of the parser, so only the
    // parser knows which line they are on (see <see cref="CheckDecoded"/>).
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Opens a text file whose encoding is given by its byte order mark: UTF-8 (with or without a BOM)
    /// or UTF-16LE/BE with a BOM (what PowerShell's <c>&gt;</c> redirection writes).</summary>
    public static StreamReader Open(string path)
    {
        try
        {
            return new StreamReader(path, Utf8, detectEncodingFromByteOrderMarks: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw ReportInputException.FromIo(path, 0, e);
        }
    }

    /// <summary>Refuses text that held bytes invalid in the file's encoding, which a file in some other encoding
    /// (Latin-1, UTF-16 without a BOM) would have: reading it as mojibake would report wrong names.</summary>
    public static void CheckDecoded(string path, int line, string text)
    {
        if (text.Contains('\uFFFD'))
            throw new ReportInputException(path, line, "not valid UTF-8 (and no UTF-16 byte order mark)");
    }
}
