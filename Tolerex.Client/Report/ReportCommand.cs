using System.CommandLine;
using System.Text;
namespace Tolerex.Client.Report;

/// <summary>
/// <c>tolerex report &lt;files…&gt; [--output report.html]</c>: turns client CSV files and bench results into
/// one self-contained HTML page. Bad input is one <c>ERROR: file:line: what</c> line on stderr and exit 1,
/// and then no page is written.
/// </summary>
internal static class ReportCommand
{
    public static Command Create() => Create(TimeProvider.System);

    internal static Command Create(TimeProvider time)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Client CSV files and bench result files (JSON Lines); a directory means every *.csv, *.jsonl and *.json in it",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var output = new Option<string>("--output", "-o") { Description = "The HTML page to write", DefaultValueFactory = _ => "report.html" };
        var command = new Command("report", "Turn client CSV files and bench results into one self-contained HTML page.") { files, output };
        command.SetAction(parse => Run(parse.GetValue(files) ?? [], parse.GetValue(output)!,
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, time.GetLocalNow()));
        return command;
    }

    internal static int Run(IReadOnlyList<string> arguments, string output, TextWriter stdout, TextWriter stderr, DateTimeOffset now)
    {
        try
        {
            var inputs = new List<ReportInput>();
            var rows = new List<CsvRecord>();
            var bench = new List<BenchEntry>();
            foreach (var (path, kind) in ExpandInputs(arguments))
            {
                if (kind == InputKind.Csv)
                {
                    var read = CsvRecordReader.Read(path);
                    rows.AddRange(read);
                    inputs.Add(new ReportInput(path, kind, read.Count));
                }
                else
                {
                    var read = BenchResultReader.Read(path);
                    bench.AddRange(read);
                    inputs.Add(new ReportInput(path, kind, read.Count));
                }
            }

            if (rows.Count == 0 && bench.Count == 0)
            {
                stderr.WriteLine("ERROR: no rows to report");
                return 1;
            }

            WriteAtomically(output, HtmlReport.Render(ReportModel.Build(now, inputs, rows, bench)));
            stdout.WriteLine(FormattableString.Invariant($"report: {rows.Count} rows, {bench.Count} bench results -> {output}"));
            return 0;
        }
        catch (ReportInputException e)
        {
            stderr.WriteLine("ERROR: " + e.Message);
            return 1;
        }
    }

    /// <summary>The files to read, in argument order (a directory's files by name), each once.</summary>
    internal static List<(string Path, InputKind Kind)> ExpandInputs(IReadOnlyList<string> arguments)
    {
        var files = new List<(string, InputKind)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            if (Directory.Exists(argument))
            {
                string[] found;
                try
                {
                    found = Directory.GetFiles(argument);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw ReportInputException.FromIo(argument, 0, e);
                }

                foreach (var file in found.Where(f => KindByExtension(f) is not null).Order(StringComparer.Ordinal))
                {
                    if (seen.Add(Path.GetFullPath(file)))
                        files.Add((file, KindByExtension(file)!.Value));
                }
            }
            else if (File.Exists(argument))
            {
                if (seen.Add(Path.GetFullPath(argument)))
                    files.Add((argument, KindByExtension(argument) ?? Sniff(argument)));
            }
            else
            {
                throw new ReportInputException(argument, 0, "file not found");
            }
        }

        return files;
    }

    private static InputKind? KindByExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => InputKind.Csv,
        ".jsonl" or ".json" => InputKind.Bench,
        _ => null,
    };

    /// <summary>A file named on the command line with another extension: JSON starts with { or [, CSV with its header.</summary>
    private static InputKind Sniff(string path)
    {
        using var text = TextInput.Open(path);
        try
        {
            int c;
            while ((c = text.Read()) != -1 && char.IsWhiteSpace((char)c))
            {
            }

            return c is '{' or '[' ? InputKind.Bench : InputKind.Csv;
        }
        catch (IOException e)
        {
            throw ReportInputException.FromIo(path, 1, e);
        }
    }

    /// <summary>Writes a temporary file beside the output, then renames it over the output: a failure part-way
    /// leaves the previous page (or none), never a truncated one.</summary>
    private static void WriteAtomically(string output, string html)
    {
        string? temp = null;
        try
        {
            var full = Path.GetFullPath(output);
            temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
            File.WriteAllText(temp, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            if (temp is not null)
            {
                try
                {
                    File.Delete(temp);
                }
                catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
                {
                    // The write already failed; that is the error worth reporting.
                }
            }

            throw new ReportInputException(output, 0, "cannot write: " + (e is DirectoryNotFoundException ? "directory not found" : e.Message));
        }
    }
}
