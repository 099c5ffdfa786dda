using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Tolerex.Client.Terminal;

/// <summary>
/// A progress bar with rate and ETA on stderr, for long operations (bulk, stress, bench). Only when stderr is a
/// terminal: redirected output (files, pipes, CI logs) gets no control sequences at all.
/// </summary>
internal static class ProgressDisplay
{
    public static bool Available => !Console.IsErrorRedirected;

    /// <summary>Runs <paramref name="work"/>, which reports its progress (in units of <paramref name="total"/>)
    /// through the sink it is given; without a terminal the sink does nothing. A null <paramref name="unit"/>
    /// hides the rate column (time-bound runs, where the work's own description carries its counts).</summary>
    public static async Task<T> RunAsync<T>(bool enabled, string description, double total, string? unit, Func<IProgressSink, Task<T>> work)
    {
        if (!enabled || !Available)
            return await work(NoProgress.Instance);

        // Interactive: the bar needs only stderr to be a terminal (Spectre would also ask for stdin, which a
        // client fed from a file does not have, and fall back to percentage lines).
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error), Interactive = InteractionSupport.Yes });
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(unit is null
                ? [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()]
                : [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(unit), new RemainingTimeColumn()])
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                try
                {
                    return await work(new TaskSink(task));
                }
                finally
                {
                    task.StopTask();
                }
            });
    }

    private sealed class TaskSink(ProgressTask task) : IProgressSink
    {
        public void Report(double value) => task.Value = Math.Min(value, task.MaxValue);

        public void Describe(string description) => task.Description = Markup.Escape(description);
    }

    private sealed class NoProgress : IProgressSink
    {
        public static readonly NoProgress Instance = new();

        public void Report(double value)
        {
        }

        public void Describe(string description)
        {
        }
    }

    /// <summary>Units per second, from Spectre's own moving average.</summary>
    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } speed ? string.Create(CultureInfo.InvariantCulture, $"{speed,8:0}{unit}/s") : new string(' ', 10 + unit.Length));
    }
}

/// <summary>Where a long operation reports how far it got.</summary>
internal interface IProgressSink
{
    void Report(double value);

    void Describe(string description);
}
