using System.Text.Json;
using Tolerex.Client.Bench;

namespace Tolerex.Client.Report;

/// <summary>A bench result and where it was read from.</summary>
internal sealed record BenchEntry(string File, int Line, BenchResult Result);

/// <summary>Reads <c>tolerex bench</c> results: JSON Lines (one <see cref="BenchResult"/> per line, as the
/// bench prints them), or one JSON array of them.</summary>
internal static class BenchResultReader
{
    public static List<BenchEntry> Read(string path)
    {
        using var text = TextInput.Open(path);
        var entries = new List<BenchEntry>();
        var line = 0;
        try
        {
            var first = true;
            while (text.ReadLine() is { } content)
            {
                line++;
                if (string.IsNullOrWhiteSpace(content))
                    continue;
                TextInput.CheckDecoded(path, line, content);
                if (first && content.TrimStart().StartsWith('['))
                    return ReadArray(path, line, content + "\n" + text.ReadToEnd());
                first = false;
                entries.Add(new BenchEntry(path, line, Parse(path, line, content)));
            }
        }
        catch (IOException e)
        {
            throw ReportInputException.FromIo(path, line, e);
        }

        return entries;
    }

    private static List<BenchEntry> ReadArray(string path, int firstLine, string json)
    {
        var invalid = json.IndexOf('\uFFFD');
        if (invalid >= 0)
            TextInput.CheckDecoded(path, firstLine + json.AsSpan(0, invalid).Count('\n'), json);
        List<BenchResult>? results;
        try
        {
            results = JsonSerializer.Deserialize(json, BenchJson.Default.ListBenchResult);
        }
        catch (JsonException e)
        {
            throw new ReportInputException(path, firstLine + (int)(e.LineNumber ?? 0), Describe(e));
        }

        if (results is null)
            throw new ReportInputException(path, firstLine, "expected an array of bench results, found null");
        // An array carries no per-result line numbers; every result points at where the array starts.
        return results.Select(r => new BenchEntry(path, firstLine, Validate(path, firstLine, r))).ToList();
    }

    private static BenchResult Parse(string path, int line, string json)
    {
        BenchResult? result;
        try
        {
            result = JsonSerializer.Deserialize(json, BenchJson.Default.BenchResult);
        }
        catch (JsonException e)
        {
            throw new ReportInputException(path, line, Describe(e));
        }

        return Validate(path, line, result ?? throw new ReportInputException(path, line, "expected a bench result object, found null"));
    }

    private static BenchResult Validate(string path, int line, BenchResult r)
    {
        if (string.IsNullOrWhiteSpace(r.Target))
            throw new ReportInputException(path, line, "bench result has an empty target");
        if (r.Requests < 0 || r.Errors < 0 || r.Connections < 0 || r.PayloadBytes < 0 || r.OpsPerSecond < 0 || r.ElapsedSeconds < 0)
            throw new ReportInputException(path, line, "bench result has a negative count, rate or duration");
        return r;
    }

    /// <summary>The serializer's first sentence, without the CLR type name, plus the JSON path of the bad value.</summary>
    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];
        cut = message.IndexOf(". ", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];
        message = message.Replace("'" + typeof(BenchResult).FullName + "'", "bench result", StringComparison.Ordinal)
            .Replace(typeof(BenchResult).FullName!, "bench result", StringComparison.Ordinal)
            .TrimEnd('.');
        return "not a bench result: " + message + (e.Path is { Length: > 1 } path ? " (at " + path + ")" : "");
    }
}
