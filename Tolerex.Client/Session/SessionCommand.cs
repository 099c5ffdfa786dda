using System.CommandLine;
using Tolerex.Client.Connections;
using Tolerex.Client.Terminal;

namespace Tolerex.Client.Session;

/// <summary>The root command: an interactive session on stdin, or <c>--stress</c>.</summary>
internal static class SessionCommand
{
    public static RootCommand Create(ConnectionOptions connection)
    {
        var measure = new Option<bool>("--measure") { Description = "Time probe commands on a second connection while the load runs (never re-sends the load's commands)" };
        var csv = new Option<bool>("--csv") { Description = "Write one CSV row per command or bulk to stdout (server replies go to stderr)" };
        var id = new Option<string>("--id") { Description = "Client name in CSV rows", DefaultValueFactory = _ => "client" };
        var offset = new Option<long>("--offset") { Description = "Ids this client generates are offset+1, offset+2, …; offset itself is its probe id", DefaultValueFactory = _ => 0 };
        var flush = new Option<int>("--flush") { Description = "Bulk commands per write (replies are read before the next write); 1 = unbuffered", DefaultValueFactory = _ => 1000 };
        var stress = new Option<double>("--stress") { Description = "Run a random SET/GET/bulk load for this many minutes instead of reading stdin", DefaultValueFactory = _ => 0 };
        var reconnect = new Option<double>("--reconnect-for") { Description = "Seconds to keep trying the --addr list after a connection breaks", DefaultValueFactory = _ => 30 };
        id.Validators.Add(r =>
        {
            if (!CsvLog.IsValidClientId(r.GetValueOrDefault<string>()))
                r.AddError("--id must be 1-128 characters without commas, quotes or line breaks");
        });
        flush.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
                r.AddError("--flush must be at least 1");
        });
        stress.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is < 0 or > 10_000_000)
                r.AddError("--stress must be a number of minutes ≥ 0");
        });
        reconnect.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() < 0)
                r.AddError("--reconnect-for must be ≥ 0");
        });

        var root = new RootCommand("Tolerex client: an interactive HaToKuSe session (stdin), a stress load (--stress), or a verb (bench, report).");
        connection.AddTo(root);
        foreach (var option in new Option[] { measure, csv, id, offset, flush, stress, reconnect })
            root.Options.Add(option);
        root.SetAction(async (parse, ct) =>
        {
            var options = new SessionOptions
            {
                ClientId = parse.GetValue(id)!,
                Offset = parse.GetValue(offset),
                Flush = parse.GetValue(flush),
                Measure = parse.GetValue(measure),
                Password = parse.GetValue(connection.Password),
                Tls = connection.ClientTls(parse),
                ReconnectFor = TimeSpan.FromSeconds(parse.GetValue(reconnect)),
                Progress = ProgressDisplay.Available,
                Prompt = !Console.IsInputRedirected && parse.GetValue(stress) == 0,
            };
            var rows = parse.GetValue(csv) ? new CsvLog(Console.Out, options.ClientId) : null;
            var endpoints = connection.Endpoints(parse);
            if (parse.GetValue(stress) is var minutes && minutes > 0)
            {
                await using var session = await ClientSession.OpenAsync(endpoints, options, Stream.Null, Console.Error, rows, ct);
                if (session is null)
                    return 1;
                var exit = await StressLoad.RunAsync(session, TimeSpan.FromMinutes(minutes), Console.Error, ct);
                await session.WriteSummaryAsync();
                return exit;
            }

            // With --csv, stdout carries only rows; what the server says goes to stderr.
            await using var replies = rows is null ? Console.OpenStandardOutput() : Console.OpenStandardError();
            return await new InteractiveSession(Console.In, replies, Console.Error, options, rows).RunAsync(endpoints, ct);
        });
        return root;
    }
}
