using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tolerex.Tests.Integration;

/// <summary>
/// What the AppHost's resources logged (Aspire's testing host forwards every resource's console lines to its
/// loggers), kept in memory so a fixture that fails can say what the nodes said.
/// </summary>
public sealed class ResourceLogs : ILoggerProvider
{
    private const int Kept = 4000;
    private readonly ConcurrentQueue<string> _lines = new();

    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    /// <summary>The last <paramref name="count"/> lines from resources, oldest first.</summary>
    public string Last(int count) => string.Join('\n', _lines.ToArray().TakeLast(count));

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Kept)
            _lines.TryDequeue(out _);
    }

    public void Dispose()
    {
    }

    private sealed class Collector(ResourceLogs logs, string category) : ILogger
    {
        // Resource output only: Aspire names these categories after the AppHost and the resource.
        private readonly bool _resource = category.Contains(".Resources.", StringComparison.Ordinal);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => _resource;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (_resource)
                logs.Add($"{DateTime.Now:HH:mm:ss.fff} {category[(category.LastIndexOf('.') + 1)..]}: {formatter(state, exception)}");
        }
    }
}
