using Tolerex.Client.Bench;
using Tolerex.Client.Connections;
using Tolerex.Client.Report;
using Tolerex.Client.Session;

var connection = new ConnectionOptions();
var root = SessionCommand.Create(connection);
root.Subcommands.Add(BenchCommand.Create(connection));
root.Subcommands.Add(ReportCommand.Create());
return await root.Parse(args).InvokeAsync();
